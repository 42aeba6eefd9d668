// @ts-check
// Number fields that say what is wrong next to the field, instead of quietly running with another
// value than the one shown. The message sits in the field's label (announced through role=alert
// and aria-describedby) and clears as soon as the field is edited.

export class FieldError extends Error {}

/**
 * The value of a number field, or a FieldError after the message is shown next to it.
 * @param {string} id
 * @param {{ what: string, min?: number, max?: number, integer?: boolean, positive?: boolean }} rule
 * @returns {number}
 */
export function readNumber(id, { what, min = -Infinity, max = Infinity, integer = true, positive = false }) {
  const el = /** @type {HTMLInputElement} */ (document.getElementById(id));
  const raw = el.value.trim();
  const v = Number(raw);
  let message = null;
  if (raw === '' || !Number.isFinite(v)) message = `${what}: enter a number`;
  else if (integer && !Number.isInteger(v)) message = `${what} must be a whole number`;
  else if (positive && !(v > 0)) message = `${what} must be greater than 0`;
  else if (v < min || v > max)
    message = max === Infinity ? `${what} must be at least ${min}` : `${what} must be from ${min} to ${max}`;
  setFieldError(el, message);
  if (message) {
    el.focus();
    throw new FieldError(message);
  }
  return v;
}

/**
 * Shows (or with null, clears) the message next to a field.
 * @param {HTMLInputElement} el
 * @param {string | null} message
 */
export function setFieldError(el, message) {
  let note = document.getElementById(`${el.id}-error`);
  if (!note) {
    if (!message) return;
    note = document.createElement('small');
    note.id = `${el.id}-error`;
    note.className = 'field-error';
    note.setAttribute('role', 'alert');
    (el.closest('label') ?? el.parentElement ?? document.body).append(note);
    el.setAttribute('aria-describedby', note.id);
    el.addEventListener('input', () => setFieldError(el, null));
  }
  note.textContent = message ?? '';
  el.setAttribute('aria-invalid', message ? 'true' : 'false');
}
