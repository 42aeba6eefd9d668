// @ts-check
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
    /** Called with { index, x, y } for the atom under the pointer, or null. */
    this.onPick = null;
    if (typeof this.canvas.transferControlToOffscreen === 'function' && typeof Worker === 'function') {
      const offscreen = this.canvas.transferControlToOffscreen();
      this.worker = new Worker(new URL('./render-worker.js', import.meta.url), { type: 'module', name: 'enf-viewer' });
      this.worker.postMessage({ type: 'init', canvas: offscreen, width, height, pixelRatio }, [offscreen]);
      this.worker.onmessage = (e) => {
        if (e.data.type === 'rendered') this.renders += 1;
        else if (e.data.type === 'picked') this._picked(e.data);
      };
      const worker = this.worker;
      this._send = (m) => worker.postMessage(m);
    } else {
      const scene = new MoleculeScene(this.canvas, width, height, pixelRatio);
      let pending = false;
      this._send = (m) => {
        if (m.type === 'resize') scene.resize(m.width, m.height);
        else if (m.type === 'show') scene.show(m.elements, m.positions, m.bonds);
        else if (m.type === 'fit') scene.fit();
        else if (m.type === 'rotate') scene.rotate(m.dx, m.dy);
        else if (m.type === 'zoom') scene.zoom(m.factor);
        else if (m.type === 'pick') return void this._picked({ index: scene.pick(m.x, m.y), x: m.x, y: m.y });
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

  _picked({ index, x, y }) {
    this.onPick?.(index >= 0 ? { index, x, y } : null);
  }

  // One pointer drags to rotate (and, standing still, asks which atom is under it); two pointers
  // pinch to zoom; the wheel zooms.
  _bindPointer() {
    const pointers = new Map();
    let pinch = 0;
    let lastPick = 0;
    const local = (e) => {
      const r = this.canvas.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    const spread = () => {
      const [a, b] = [...pointers.values()];
      return Math.hypot(a.x - b.x, a.y - b.y);
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      this.canvas.setPointerCapture(e.pointerId);
      if (pointers.size === 2) pinch = spread();
      if (e.pointerType !== 'mouse') this._send({ type: 'pick', ...local(e) });
    });
    this.canvas.addEventListener('pointermove', (e) => {
      const last = pointers.get(e.pointerId);
      if (!last) {
        // Hover: at most every 50 ms.
        const now = performance.now();
        if (e.pointerType === 'mouse' && now - lastPick > 50) {
          lastPick = now;
          this._send({ type: 'pick', ...local(e) });
        }
        return;
      }
      const next = { x: e.clientX, y: e.clientY };
      pointers.set(e.pointerId, next);
      if (pointers.size >= 2) {
        const d = spread();
        if (pinch > 0 && d > 0) this._send({ type: 'zoom', factor: pinch / d });
        pinch = d;
      } else {
        this._send({ type: 'rotate', dx: next.x - last.x, dy: next.y - last.y });
      }
    });
    const end = (e) => {
      pointers.delete(e.pointerId);
      pinch = pointers.size === 2 ? spread() : 0;
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
    this.canvas.addEventListener('pointerleave', (e) => {
      if (e.pointerType === 'mouse') this.onPick?.(null);
    });
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
