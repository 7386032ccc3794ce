// Keyboard shortcuts of the Annotate page: a key press becomes a trigger value for Python, without a full-page rerun
// (the component sits in the word editor's fragment, so only the fragment reruns).
//
// One listener per page load, installed once on the document: the component mounts again on every rerun, and a
// listener per mount would, between a mount and the previous one's cleanup, hear a key twice or not at all. Each
// mount only hands the listener its current setTriggerValue and keys.
//
// Keys pressed while a rerun is under way are not lost: every press gets a sequence number and stays pending until
// Python acknowledges it (data.ack for this page load's token); each trigger carries every pending press, and a
// mount that still sees unacknowledged presses sends them again. Between one mount's cleanup and the next (a rerun
// that redraws the editor) presses are kept, not dropped: a probe typing "1 2 1 2" lost the first press, and every
// later label landed one word early. Only when no mount follows within LEAVE_MS has the page left Annotate; the
// presses kept are dropped then. Python applies each sequence number once.
// Typing in a text field, a number field, a select or a table (OWN_KEYS) never counts as a shortcut. A click on
// the receipt's chart takes the focus out of such a field: Plotly's drag layer keeps a click from moving the focus,
// so after a pick in the Receipt or Word dropdown the keys went on typing into it (a walkthrough pressed "4" on a
// clicked word and nothing was labelled), where a click anywhere else on the page hands them back.
//
// The component shows the key list (data.help) itself, as text: the shortcuts start when this script has loaded, a
// moment after the page is drawn (seconds on a busy server), and a key pressed before that cannot be heard; a list
// drawn by the page before then read as keys that already worked.
//
// While the shortcuts are on, the main area's keyboard-focus frame is not drawn: a click on the page focuses the
// main area (Streamlit makes it focusable to scroll it by keys), and the first key press then framed the whole page
// in grey, every press after it again (a walkthrough read it as something gone wrong). The keys never move the
// focus there, so the frame said nothing. The style is scoped by a class on <body> that leaving Annotate removes.
const LEAVE_MS = 1500;
const QUIET_FRAME_CLASS = "receipt-annotate-keys";
const QUIET_FRAME_CSS = `body.${QUIET_FRAME_CLASS} [data-testid="stMain"]:focus-visible::before { box-shadow: none; }`;

function quietFocusFrame(on) {
  if (on && !document.getElementById(QUIET_FRAME_CLASS)) {
    const style = document.createElement("style");
    style.id = QUIET_FRAME_CLASS;
    style.textContent = QUIET_FRAME_CSS;
    document.head.appendChild(style);
  }
  document.body.classList.toggle(QUIET_FRAME_CLASS, on);
}

function isTyping(element) {
  return element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName);
}

// Controls that read keys of their own: a table moves its cell cursor by the arrows and starts a cell's edit by a
// letter or digit; a slider, a tab list, a list box or a menu move by the arrows or jump by a typed letter. A key
// pressed there is theirs: a probe moved the word table's cursor to row 1 and pressed 1, and the editor's word #0
// was labelled (and its quantity cleared), not the row the cursor was on.
const OWN_KEYS = '[data-testid="stDataFrame"], [role="grid"], [role="slider"], [role="tablist"], [role="listbox"], '
  + '[role="menu"], [role="combobox"]';

function readsKeys(element) {
  return isTyping(element) || (element instanceof Element && element.closest(OWN_KEYS) !== null);
}

// Whether the keys are shortcuts now, said above the key list and kept up as the focus moves: after a pick in a
// dropdown the focus may stay in it or fall back to the page, and a keyboard user could not tell whether the next key
// would type into the dropdown or label a word (probe 53).
// One line of one height either way (the CSS cuts it rather than wrap it): a line that grew as a field took the focus
// moved the buttons under it between a click's press and its release, and the click was lost.
const TOUCH_ONLY = "(hover: none) and (pointer: coarse)";
const KEYS_ON = "Shortcuts on.";
const KEYS_PAUSED = "Shortcuts paused: click the page.";
const KEYS_PAUSED_WHY = "The focus is in a field, a list or the word table, which reads the keys itself. Click the "
  + "receipt or the page's title to use the shortcuts.";

function showKeysState(shown) {
  if (!shown) return;
  const focused = document.activeElement;
  const paused = Boolean(focused && focused !== document.body && readsKeys(focused));
  shown.textContent = paused ? KEYS_PAUSED : KEYS_ON;
  shown.title = paused ? KEYS_PAUSED_WHY : "";
  shown.dataset.paused = paused ? "yes" : "no";
}

// A tap on a word selects it at once. Plotly selects the point its last hover found, and a finger does not hover: the
// first tap on a word found none (Plotly hovers at the end of a tap, for the tap after it), so on a tablet every
// word took two taps and the first seemed to do nothing (walkthrough 55). A one-finger touch on the receipt's plot
// area is hovered first, as a mouse is before its click: this listener runs (capture) before Plotly's own.
function hoverUnderFinger(state, event) {
  if (!state.active || event.touches.length !== 1 || !(event.target instanceof Element)) return;
  if (!event.target.closest(".js-plotly-plot .nsewdrag")) return;
  const touch = event.touches[0];
  event.target.dispatchEvent(new MouseEvent("mousemove", {
    bubbles: true, cancelable: true, clientX: touch.clientX, clientY: touch.clientY, view: window,
  }));
}

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const state = window.__receiptAnnotateKeys
    || (window.__receiptAnnotateKeys = { token: Math.random().toString(36).slice(2), seq: 0, pending: [] });
  if (data && data.ack_token === state.token) {
    state.pending = state.pending.filter((press) => press.seq > data.ack);
  }
  const mount = {};
  state.owner = mount;
  state.active = true;
  quietFocusFrame(true);
  clearTimeout(state.leaving);
  state.wanted = new Set((data && data.keys) || []);
  // the receipt this mount shows: each press carries the one on screen when it was typed, so Python can tell a press
  // typed on a receipt the page has since replaced from one typed on the receipt it now shows (a probe's "d 7 7"
  // under a status filter labelled a receipt that was not on screen yet)
  state.view = (data && data.view) || null;
  // another receipt opens at the top of the page, as the next task does in Label Studio: after n, b, d under a
  // filter, or the least-confident jump, the page stayed scrolled where the last receipt's word table or run
  // section was, the new receipt out of sight (walkthrough 38)
  if (state.view && state.shownView && state.view !== state.shownView) {
    const main = document.querySelector('[data-testid="stMain"]');
    if (main) main.scrollTo({ top: 0 });
  }
  state.shownView = state.view || state.shownView;
  state.send = () => setTriggerValue("keys", { token: state.token, pressed: state.pending.slice() });
  if (parentElement) {
    let shown = parentElement.querySelector(".keys-help");
    if (!shown) {
      // folded under its title on a screen with no mouse: a tablet's word panel opened on 400 px of keys it has no
      // keyboard for, and "click the page" invited a tap that did nothing (walkthrough 55); open anywhere else
      const fold = document.createElement("details");
      fold.className = "keys-fold";
      fold.open = !window.matchMedia(TOUCH_ONLY).matches;
      fold.classList.toggle("keys-always", fold.open);  // with a mouse: shown as before, no title to fold it
      const title = document.createElement("summary");
      title.textContent = "Keyboard shortcuts";
      fold.appendChild(title);
      const said = document.createElement("div");
      said.className = "keys-state";
      said.setAttribute("aria-live", "polite");
      fold.appendChild(said);
      shown = document.createElement("div");
      shown.className = "keys-help";
      fold.appendChild(shown);
      parentElement.appendChild(fold);
    }
    shown.textContent = (data && data.help) || "";
    state.said = parentElement.querySelector(".keys-state");  // in the component's shadow root, not the document's
    showKeysState(state.said);
  }
  if (!state.listening) {
    state.listening = true;
    document.addEventListener("keydown", (event) => {
      if (!state.active || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      if (event.target && readsKeys(event.target)) return;
      if (!state.wanted.has(event.key)) return;
      event.preventDefault();
      state.seq += 1;
      state.pending.push({ seq: state.seq, key: event.key, view: state.view });
      if (state.send) state.send();  // else the next mount sends it
    });
    document.addEventListener("pointerdown", (event) => {
      if (!state.active || !(event.target instanceof Element) || !event.target.closest(".js-plotly-plot")) return;
      const focused = document.activeElement;
      if (focused && focused !== document.body && readsKeys(focused)) focused.blur();
    }, true);
    document.addEventListener("touchstart", (event) => hoverUnderFinger(state, event), { capture: true, passive: true });
    document.addEventListener("focusin", () => showKeysState(state.said));
    document.addEventListener("focusout", () => setTimeout(() => showKeysState(state.said), 0));  // lands after
  }
  if (state.pending.length) state.send();  // presses heard while no mount was there to send them
  return () => {
    if (state.owner !== mount) return;  // a newer mount took over
    state.send = null;
    state.leaving = setTimeout(() => {
      if (state.owner === mount) {  // no mount followed: the page left Annotate, keys are not shortcuts any more
        state.active = false;
        state.pending = [];
        quietFocusFrame(false);
      }
    }, LEAVE_MS);
  };
}
