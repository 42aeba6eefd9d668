// @ts-check
// The molecule scene: a camera orbiting a target, lights, and two instanced meshes (atoms and bond
// cylinders). No DOM: it runs in the render worker on an OffscreenCanvas, or on the page's canvas
// where OffscreenCanvas is missing.
import * as THREE from 'three';
import { ELEMENTS } from './chemistry.js';

const MAX_ATOMS = 64;
const MAX_BOND_CYLINDERS = MAX_ATOMS * 8;

export class MoleculeScene {
  constructor(canvas, width, height, pixelRatio) {
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: true });
    this.renderer.setPixelRatio(pixelRatio);
    this.renderer.setClearColor(0x0f1720, 1);
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(40, 1, 0.1, 500);
    this.target = new THREE.Vector3();
    this.orbit = { theta: 0, phi: Math.PI / 2, radius: 14 };
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x334455, 1.6));
    const key = new THREE.DirectionalLight(0xffffff, 1.8);
    key.position.set(5, 8, 10);
    this.scene.add(key);
    const sphere = new THREE.SphereGeometry(1, 28, 20);
    this.atoms = new THREE.InstancedMesh(sphere, new THREE.MeshPhongMaterial({ shininess: 60, specular: 0x333333 }), MAX_ATOMS);
    this.atoms.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    this.scene.add(this.atoms);
    const cylinder = new THREE.CylinderGeometry(1, 1, 1, 14, 1, true);
    this.bonds = new THREE.InstancedMesh(cylinder, new THREE.MeshPhongMaterial({ color: 0xb8c2cc, shininess: 30 }), MAX_BOND_CYLINDERS);
    this.bonds.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    this.scene.add(this.bonds);
    this._tmp = new THREE.Object3D();
    this._color = new THREE.Color();
    this.positions = [];
    /** @type {THREE.Raycaster | null} */
    this._raycaster = null;
    this.width = 1;
    this.height = 1;
    // Compile the shaders while idle rather than on the first streamed frame.
    this.atoms.setColorAt(0, this._color.set('#ffffff'));
    this.renderer.compile(this.scene, this.camera);
    this.atoms.count = 0;
    this.bonds.count = 0;
    this.resize(width, height);
  }

  resize(width, height) {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.renderer.setSize(Math.max(1, width), Math.max(1, height), false);
    this.camera.aspect = Math.max(1, width) / Math.max(1, height);
    this.camera.updateProjectionMatrix();
  }

  // elements: symbols; positions: flat x, y, z per atom (Angstrom); bonds: [{ i, j, order }].
  show(elements, positions, bonds) {
    const n = Math.min(elements.length, MAX_ATOMS);
    const m = this._tmp;
    for (let i = 0; i < n; i++) {
      const el = ELEMENTS[elements[i]] || ELEMENTS.C;
      m.position.set(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]);
      m.scale.setScalar((0.28 * el.radius) / 0.76 + 0.12);  // covalent radii, ball-and-stick scale
      m.quaternion.identity();
      m.updateMatrix();
      this.atoms.setMatrixAt(i, m.matrix);
      this.atoms.setColorAt(i, this._color.set(el.color));
    }
    this.atoms.count = n;
    this.atoms.instanceMatrix.needsUpdate = true;
    this.atoms.boundingSphere = null;  // picking and culling recompute it for the moved atoms
    if (this.atoms.instanceColor) this.atoms.instanceColor.needsUpdate = true;
    this._showBonds(bonds, positions, n);
    this.positions = Array.from(positions).slice(0, 3 * n);
  }

  _showBonds(bonds, positions, n) {
    const up = new THREE.Vector3(0, 1, 0), xAxis = new THREE.Vector3(1, 0, 0);
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
      // Double and triple bonds: parallel cylinders offset perpendicular to the bond.
      side.crossVectors(dir, Math.abs(dir.y) < 0.9 ? up : xAxis).normalize();
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

  // Centres the camera on the molecule at a distance that frames its bounding sphere.
  fit() {
    const p = this.positions;
    const n = p.length / 3;
    if (n === 0) return;
    const c = new THREE.Vector3();
    for (let i = 0; i < n; i++) c.add(new THREE.Vector3(p[3 * i], p[3 * i + 1], p[3 * i + 2]));
    c.divideScalar(n);
    let r = 1;
    for (let i = 0; i < n; i++) r = Math.max(r, c.distanceTo(new THREE.Vector3(p[3 * i], p[3 * i + 1], p[3 * i + 2])));
    this.target.copy(c);
    this.orbit.radius = (r + 1.2) / Math.sin((this.camera.fov * Math.PI) / 360);
  }

  // Drag in pixels rotates about the target; zoom > 1 moves away.
  rotate(dx, dy) {
    this.orbit.theta -= dx * 0.008;
    this.orbit.phi = Math.min(Math.PI - 0.05, Math.max(0.05, this.orbit.phi - dy * 0.008));
  }

  zoom(factor) {
    this.orbit.radius = Math.min(200, Math.max(2, this.orbit.radius * factor));
  }

  // The atom under a point of the canvas (CSS pixels from its top left), or -1.
  pick(x, y) {
    if (this.atoms.count === 0) return -1;
    this._place();
    this.camera.updateMatrixWorld();
    this._raycaster ??= new THREE.Raycaster();
    this._raycaster.setFromCamera(new THREE.Vector2((2 * x) / this.width - 1, 1 - (2 * y) / this.height), this.camera);
    const hit = this._raycaster.intersectObject(this.atoms, false)[0];
    return hit && hit.instanceId !== undefined ? hit.instanceId : -1;
  }

  _place() {
    const { theta, phi, radius } = this.orbit;
    this.camera.position.set(
      this.target.x + radius * Math.sin(phi) * Math.sin(theta),
      this.target.y + radius * Math.cos(phi),
      this.target.z + radius * Math.sin(phi) * Math.cos(theta),
    );
    this.camera.lookAt(this.target);
  }

  render() {
    this._place();
    this.renderer.render(this.scene, this.camera);
  }
}
