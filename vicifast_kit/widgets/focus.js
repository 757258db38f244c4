// Gives the keyboard back to the notebook after a click on one of the kit's widget buttons: a clicked
// button keeps the focus, and JupyterLab's Shift+Enter then reaches the button, not the notebook (the
// learner had to click back into a cell). Installed once per page, by any of the kit's widgets.
function installFocusReturn() {
  if (window.__vicifastFocusReturn) return;
  window.__vicifastFocusReturn = true;
  const back = (target) => {
    const notebook = target.closest && target.closest(".jp-Notebook");
    if (notebook && document.activeElement === target) notebook.focus({ preventScroll: true });
  };
  // A press on one of our buttons does not take the focus (nor reach the notebook's own handlers): a focused
  // button would make JupyterLab activate the widget's cell, and Shift+Enter would run that cell again instead
  // of the one the learner was at. The button still gets its click.
  const ours = (t) => t && t.closest && t.closest("button") && t.closest(".vk-widget, .vk-audio");
  document.addEventListener("mousedown", (e) => {
    if (ours(e.target) && e.button === 0) { e.preventDefault(); e.stopPropagation(); }
  }, true);
  document.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest("button");
    if (!button || !button.closest(".vk-widget, .vk-audio")) return;
    setTimeout(() => back(button), 0);          // after the button's own handlers
  }, true);
  // (A dropdown keeps the focus it needs to open: giving it back to the notebook then would make the
  // widget's cell the active one, and Shift+Enter would run it again.)
}
