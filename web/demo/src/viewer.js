// A molecule viewer: a scene, a camera, an animation loop and two instanced meshes (atoms and
// bond cylinders). The caller passes the bonds of every frame (from the core's bond-order rule),
// so a streaming trajectory shows bonds forming as atoms settle.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { ELEMENTS } from './chemistry.js';

const MAX_ATOMS = 64;
const MAX_BOND_CYLINDERS = MAX_ATOMS * 8;

export class MoleculeViewer {
  constructor(container) {
    this.container = container;
    this.renderer = new THREE.WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.setClearColor(0x0f1720, 1);
    container.appendChild(this.renderer.domElement);

    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(40, 1, 0.1, 500);
    this.camera.position.set(0, 0, 14);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;

    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x334455, 1.6));
    const key = new THREE.DirectionalLight(0xffffff, 1.8);
    key.position.set(5, 8, 10);
    this.scene.add(key);

    const sphere = new THREE.SphereGeometry(1, 28, 20);
    this.atoms = new THREE.InstancedMesh(sphere, new THREE.MeshPhongMaterial({ shininess: 60, specular: 0x333333 }), MAX_ATOMS);
    this.atoms.count = 0;
    this.atoms.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    this.scene.add(this.atoms);

    const cylinder = new THREE.CylinderGeometry(1, 1, 1, 14, 1, true);
    this.bonds = new THREE.InstancedMesh(cylinder, new THREE.MeshPhongMaterial({ color: 0xb8c2cc, shininess: 30 }), MAX_BOND_CYLINDERS);
    this.bonds.count = 0;
    this.bonds.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    this.scene.add(this.bonds);

    this._tmp = new THREE.Object3D();
    this._color = new THREE.Color();
    // Compile the shaders now, while the page is idle: compiling them on the first streamed frame
    // blocked the main thread for hundreds of milliseconds (software GL especially).
    this.atoms.count = 1;
    this.bonds.count = 1;
    this.atoms.setColorAt(0, this._color.set('#ffffff'));
    this.renderer.compile(this.scene, this.camera);
    this.renderer.render(this.scene, this.camera);
    this.atoms.count = 0;
    this.bonds.count = 0;
    this._resize = () => this.resize();
    window.addEventListener('resize', this._resize);
    this.resize();
    // Render on demand: a frame only when the molecule or the camera changed. A continuous loop
    // kept the compositor busy and, on machines without a GPU, stalled the main thread.
    this._pending = false;
    this._disposed = false;
    this.controls.addEventListener('change', () => this.requestRender());
    this.requestRender();
  }

  requestRender() {
    if (this._pending || this._disposed) return;
    this._pending = true;
    requestAnimationFrame(() => {
      this._pending = false;
      if (this._disposed) return;
      // Damping keeps the camera moving for a few frames after the pointer stops.
      if (this.controls.update()) this.requestRender();
      this.renderer.render(this.scene, this.camera);
    });
  }

  resize() {
    const w = Math.max(1, this.container.clientWidth);
    const h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  // elements: symbols; positions: flat [x0, y0, z0, x1, ...] in Angstrom; bonds: [{ i, j, order }].
  show(elements, positions, bonds = []) {
    const n = Math.min(elements.length, MAX_ATOMS);
    const m = this._tmp;
    for (let i = 0; i < n; i++) {
      const el = ELEMENTS[elements[i]] || ELEMENTS.C;
      const r = 0.28 * el.radius / 0.76 + 0.12;  // covalent radii, scaled into ball-and-stick
      m.position.set(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]);
      m.scale.setScalar(r);
      m.rotation.set(0, 0, 0);
      m.updateMatrix();
      this.atoms.setMatrixAt(i, m.matrix);
      this.atoms.setColorAt(i, this._color.set(el.color));
    }
    this.atoms.count = n;
    this.atoms.instanceMatrix.needsUpdate = true;
    if (this.atoms.instanceColor) this.atoms.instanceColor.needsUpdate = true;
    this._showBonds(bonds, positions, n);
    this.lastFrame = { elements: elements.slice(0, n), positions: Array.from(positions).slice(0, 3 * n) };
    this.requestRender();
  }

  _showBonds(bonds, positions, n) {
    const up = new THREE.Vector3(0, 1, 0);
    const a = new THREE.Vector3(), b = new THREE.Vector3(), dir = new THREE.Vector3(), side = new THREE.Vector3();
    const m = this._tmp;
    let k = 0;
    for (const bond of bonds) {
      if (bond.i >= n || bond.j >= n) continue;
      a.fromArray(positions, 3 * bond.i);
      b.fromArray(positions, 3 * bond.j);
      dir.subVectors(b, a);
      const len = dir.length();
      dir.normalize();
      // Offset direction for double and triple bonds: perpendicular to the bond.
      side.crossVectors(dir, Math.abs(dir.y) < 0.9 ? up : new THREE.Vector3(1, 0, 0)).normalize();
      const offsets = bond.order === 1 ? [0] : bond.order === 2 ? [-0.09, 0.09] : [-0.13, 0, 0.13];
      const radius = bond.order === 1 ? 0.09 : 0.055;
      for (const o of offsets) {
        if (k >= MAX_BOND_CYLINDERS) break;
        m.position.copy(a).addScaledVector(dir, len / 2).addScaledVector(side, o);
        m.quaternion.setFromUnitVectors(up, dir);
        m.scale.set(radius, len, radius);
        m.updateMatrix();
        this.bonds.setMatrixAt(k++, m.matrix);
      }
    }
    this.bonds.count = k;
    this.bonds.instanceMatrix.needsUpdate = true;
  }

  // Frames the current molecule: camera distance from its bounding sphere.
  fit() {
    if (!this.lastFrame || this.lastFrame.elements.length === 0) return;
    const p = this.lastFrame.positions;
    const c = new THREE.Vector3();
    const n = p.length / 3;
    for (let i = 0; i < n; i++) c.add(new THREE.Vector3(p[3 * i], p[3 * i + 1], p[3 * i + 2]));
    c.divideScalar(n);
    let r = 1;
    for (let i = 0; i < n; i++) r = Math.max(r, c.distanceTo(new THREE.Vector3(p[3 * i], p[3 * i + 1], p[3 * i + 2])));
    const dist = (r + 1.2) / Math.sin((this.camera.fov * Math.PI) / 360);
    const dirToCam = this.camera.position.clone().sub(this.controls.target).normalize();
    this.controls.target.copy(c);
    this.camera.position.copy(c).addScaledVector(dirToCam, dist);
    this.controls.update();
    this.requestRender();
  }

  dispose() {
    this._disposed = true;
    window.removeEventListener('resize', this._resize);
    this.controls.dispose();
    this.renderer.dispose();
    this.renderer.domElement.remove();
  }
}
