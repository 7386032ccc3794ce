// Keyboard shortcuts of the Annotate page: a key press becomes a trigger value for Python, without a full-page rerun
// (the component sits in the word editor's fragment, so only the fragment reruns).
//
// Keys pressed while a rerun is still under way are not lost: every press gets a sequence number and stays
// "pending" until Python acknowledges it (data.ack for this page load's token); each trigger carries every pending
// press, so a trigger that replaced an earlier one before Python read it still delivers both.
// Typing in a text field, a number field or a select never counts as a shortcut.
export default function (component) {
  const { data, setTriggerValue } = component;
  const state = window.__receiptAnnotateKeys
    || (window.__receiptAnnotateKeys = { token: Math.random().toString(36).slice(2), seq: 0, pending: [] });
  if (data && data.ack_token === state.token) {
    state.pending = state.pending.filter((press) => press.seq > data.ack);
  }
  const wanted = new Set((data && data.keys) || []);
  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    if (!wanted.has(event.key)) return;
    event.preventDefault();
    state.seq += 1;
    state.pending.push({ seq: state.seq, key: event.key });
    setTriggerValue("keys", { token: state.token, pressed: state.pending.slice() });
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}
