// A tiny element builder, so the page builds its DOM without innerHTML: no escaping to get
// wrong, and it stays within a strict Content-Security-Policy (no inline scripts or styles).
//
//   h('p', {class: 'value', style: {width: '40%'}, onclick: fn}, 'text', childNode, [more])
//
// Attributes that are null, undefined or false are left out; children may be nested arrays,
// strings, numbers or nodes (null and false are skipped).

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'style') Object.assign(element.style, value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function h(tag, attributes, ...children) {
  return build(document.createElement(tag), attributes, children);
}

export function svg(tag, attributes, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attributes, children);
}
