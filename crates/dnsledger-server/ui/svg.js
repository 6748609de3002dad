// SVG elements made in code, shared by the timeline and the statistics charts.

const SVG = 'http://www.w3.org/2000/svg';

export function svgElement(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [attribute, value] of Object.entries(attributes)) {
    element.setAttribute(attribute, String(value));
  }
  return element;
}

export function svgText(content, attributes) {
  const text = svgElement('text', attributes);
  text.textContent = content;
  return text;
}

/** A tooltip: the element's `<title>` child. */
export function titled(element, text) {
  const title = svgElement('title');
  title.textContent = text;
  element.append(title);
  return element;
}
