// The review page: lists the held DMs, marks their evidence, and sends a
// person's decision to /v1/feedback.
"use strict";

const queueEl = document.getElementById("queue");
const summaryEl = document.getElementById("summary");
const moreEl = document.getElementById("more");
const cardTemplate = document.getElementById("card");
let next = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function profileText(dm) {
  const p = dm.sender_profile;
  const parts = [];
  if (p) {
    if (p.account_age_days != null) parts.push(`account ${p.account_age_days} days old`);
    if (p.followers != null) parts.push(`${p.followers} followers`);
    if (p.following != null) parts.push(`follows ${p.following}`);
    if (p.verified) parts.push("verified");
    if (p.recipient_follows_sender) parts.push("the brand follows them");
  } else {
    parts.push("no sender profile");
  }
  if (dm.campaign != null) parts.push(`campaign: ${dm.campaign} seen`);
  return parts.join(" · ");
}

function card(dm) {
  const node = cardTemplate.content.firstElementChild.cloneNode(true);
  node.dataset.id = dm.id;
  const action = node.querySelector(".action");
  action.textContent = dm.action;
  action.classList.add(dm.action);
  node.querySelector(".score").textContent = `score ${dm.score.toFixed(2)}`;
  const when = dm.ts != null ? new Date(dm.ts).toLocaleString() : "";
  node.querySelector(".who").textContent =
    `${dm.sender || "unknown sender"} → ${dm.recipient || "any brand"} ${when}`;
  const text = node.querySelector(".text");
  for (const seg of dm.segments) {
    if (seg.mark) {
      const m = el("mark", seg.mark, seg.text);
      m.title = seg.mark === "link" ? "link" : "evidence named by a reason";
      text.appendChild(m);
    } else {
      text.appendChild(document.createTextNode(seg.text));
    }
  }
  node.querySelector(".profile").textContent = profileText(dm);
  const reasons = node.querySelector(".reasons");
  for (const r of dm.reasons) {
    const li = el("li", "reason");
    const w = el("span", "w " + (r.weight >= 0 ? "up" : "down"),
      (r.weight >= 0 ? "+" : "") + r.weight.toFixed(2));
    li.append(w, el("code", null, r.code), document.createTextNode(" " + r.detail));
    reasons.appendChild(li);
  }
  for (const [cls, label] of [["spam", "spam"], ["ham", "ham"]]) {
    node.querySelector("button." + cls).addEventListener("click", () => decide(node, dm.id, label));
  }
  return node;
}

async function decide(node, id, label) {
  for (const b of node.querySelectorAll("button")) b.disabled = true;
  try {
    const res = await fetch("/v1/feedback", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, label }),
    });
    if (!res.ok) throw new Error((await res.json()).error || res.statusText);
    node.remove();
    await refreshSummary();
  } catch (e) {
    for (const b of node.querySelectorAll("button")) b.disabled = false;
    summaryEl.textContent = `Could not send the decision: ${e.message}`;
  }
}

function setSummary(pending) {
  summaryEl.textContent = pending === 1 ? "1 DM held for review" : `${pending} DMs held for review`;
  if (pending === 0 && !queueEl.querySelector(".dm")) {
    queueEl.replaceChildren(el("p", "empty", "Nothing to review."));
  }
}

async function refreshSummary() {
  const res = await fetch("/v1/queue?limit=1");
  setSummary((await res.json()).pending);
}

async function load(before) {
  const url = before == null ? "/v1/queue?limit=50" : `/v1/queue?limit=50&before=${before}`;
  const res = await fetch(url);
  const page = await res.json();
  if (before == null) queueEl.replaceChildren();
  for (const dm of page.items) queueEl.appendChild(card(dm));
  next = page.next;
  moreEl.hidden = next == null;
  setSummary(page.pending);
}

async function chart() {
  const res = await fetch("/v1/chart?hours=24");
  const { hours } = await res.json();
  const box = document.getElementById("chart");
  box.replaceChildren();
  const max = Math.max(1, ...hours.map((h) => h.allow + h.review + h.block));
  for (const h of hours) {
    const bar = el("div", "bar");
    bar.title = `${new Date(h.hour).toLocaleString()}: ${h.allow} allow, ${h.review} review, ${h.block} block`;
    for (const k of ["allow", "review", "block"]) {
      const part = el("div", k);
      part.style.height = `${(64 * h[k]) / max}px`;
      bar.appendChild(part);
    }
    box.appendChild(bar);
  }
}

moreEl.addEventListener("click", () => load(next));
load(null).catch((e) => { summaryEl.textContent = `Could not load the queue: ${e.message}`; });
chart().catch(() => {});
