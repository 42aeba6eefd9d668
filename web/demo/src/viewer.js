// The page side of the molecule viewer. Rendering happens in a worker on an OffscreenCanvas, so
// drawing streamed frames never blocks the main thread (measured: software WebGL on the main
// thread stalled it for 60-300 ms per frame on a 2-core machine without a GPU). Where
// OffscreenCanvas is missing, the same scene renders on the page.
import { MoleculeScene } from './scene.js';

export class MoleculeViewer {
  constructor(container) {
    this.container = container;
    this.canvas = document.createElement('canvas');
    container.appendChild(this.canvas);
    const { width, height } = this._size();
    const pixelRatio = Math.min(window.devicePixelRatio || 1, 2);
    this.renders = 0;  // frames drawn so far (tests wait on it)
    if (typeof this.canvas.transferControlToOffscreen === 'function' && typeof Worker === 'function') {
      const offscreen = this.canvas.transferControlToOffscreen();
      this.worker = new Worker(new URL('./render-worker.js', import.meta.url), { type: 'module', name: 'enf-viewer' });
      this.worker.postMessage({ type: 'init', canvas: offscreen, width, height, pixelRatio }, [offscreen]);
      this.worker.onmessage = (e) => { if (e.data.type === 'rendered') this.renders += 1; };
      this._send = (m) => this.worker.postMessage(m);
    } else {
      const scene = new MoleculeScene(this.canvas, width, height, pixelRatio);
      let pending = false;
      this._send = (m) => {
        if (m.type === 'resize') scene.resize(m.width, m.height);
        else if (m.type === 'show') scene.show(m.elements, m.positions, m.bonds);
        else if (m.type === 'fit') scene.fit();
        else if (m.type === 'rotate') scene.rotate(m.dx, m.dy);
        else if (m.type === 'zoom') scene.zoom(m.factor);
        if (!pending) {
          pending = true;
          requestAnimationFrame(() => { pending = false; scene.render(); this.renders += 1; });
        }
      };
    }
    this._bindPointer();
    this._resize = () => this._send({ type: 'resize', ...this._size() });
    window.addEventListener('resize', this._resize);
  }

  _size() {
    return { width: Math.max(1, this.container.clientWidth), height: Math.max(1, this.container.clientHeight) };
  }

  _bindPointer() {
    let last = null;
    this.canvas.addEventListener('pointerdown', (e) => {
      last = { x: e.clientX, y: e.clientY };
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!last) return;
      this._send({ type: 'rotate', dx: e.clientX - last.x, dy: e.clientY - last.y });
      last = { x: e.clientX, y: e.clientY };
    });
    const end = () => { last = null; };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
    this.canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      this._send({ type: 'zoom', factor: Math.exp(e.deltaY * 0.001) });
    }, { passive: false });
  }

  // elements: symbols; positions: flat x, y, z per atom (Angstrom); bonds: [{ i, j, order }].
  show(elements, positions, bonds = []) {
    this.lastFrame = { elements: Array.from(elements), positions: Float32Array.from(positions) };
    this._send({ type: 'show', elements: this.lastFrame.elements, positions: this.lastFrame.positions, bonds });
  }

  fit() {
    this._send({ type: 'fit' });
  }

  dispose() {
    window.removeEventListener('resize', this._resize);
    this.worker?.terminate();
    this.canvas.remove();
  }
}
