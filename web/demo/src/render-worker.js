// @ts-check
// Renders the viewer's OffscreenCanvas off the main thread: WebGL work (and, without a GPU, the
// wait for it) never blocks the page. Messages: init, resize, show, fit, rotate, zoom, pick (answered
// with 'picked': the atom under a point, for hover labels).
import { MoleculeScene } from './scene.js';

let scene = null;
let pending = false;

function requestRender() {
  if (pending || !scene) return;
  pending = true;
  const draw = () => {
    pending = false;
    scene.render();
    self.postMessage({ type: 'rendered' });
  };
  if (typeof self.requestAnimationFrame === 'function') self.requestAnimationFrame(draw);
  else setTimeout(draw, 16);
}

self.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'init') scene = new MoleculeScene(m.canvas, m.width, m.height, m.pixelRatio);
  else if (!scene) return;
  else if (m.type === 'resize') scene.resize(m.width, m.height);
  else if (m.type === 'show') scene.show(m.elements, m.positions, m.bonds);
  else if (m.type === 'fit') scene.fit();
  else if (m.type === 'rotate') scene.rotate(m.dx, m.dy);
  else if (m.type === 'zoom') scene.zoom(m.factor);
  else if (m.type === 'pick') return void self.postMessage({ type: 'picked', index: scene.pick(m.x, m.y), x: m.x, y: m.y });
  requestRender();
};
