/**
 * Search page: a sort (or other) select marked `data-autosubmit` applies itself when chosen. The form's own submit
 * button stays, for readers without JavaScript and for keyboard readers (see below).
 */

/** Keys that change a closed select's value one step at a time on some platforms (Windows). */
const STEP_KEYS = new Set([
  'ArrowUp',
  'ArrowDown',
  'ArrowLeft',
  'ArrowRight',
  'Home',
  'End',
  'PageUp',
  'PageDown',
]);

for (const select of document.querySelectorAll<HTMLSelectElement>('select[data-autosubmit]')) {
  const form = select.form;
  if (form === null) continue;
  // Reloading the page on every arrow key would take a keyboard reader away mid-choice (WCAG 3.2.2); such changes
  // wait for Enter or the submit button instead.
  let stepping = false;
  select.addEventListener('keydown', (event) => {
    stepping = STEP_KEYS.has(event.key);
    if (event.key === 'Enter') {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  select.addEventListener('pointerdown', () => {
    stepping = false;
  });
  select.addEventListener('change', () => {
    if (!stepping) form.requestSubmit();
  });
}
