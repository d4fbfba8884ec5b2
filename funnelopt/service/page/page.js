// The what-if page: a scenario, sliders for its budget and key rates, and on each change
// the plan from POST v1/plan. Plain JavaScript and SVG, served by the package (offline).
// URLs are relative, so the page also works behind a proxy under a path prefix.
"use strict";

const COLORS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#b7791f", "#718096"];
const $ = (id) => document.getElementById(id);

let base = null;       // the scenario as the server read it (POST v1/check)
let periodLabel = "week";
let sliders = [];      // {path, input, base}
let asked = 0;         // the latest plan request; older answers are dropped
let timer = null;

function money(x, currency) {
  if (x === null || x === undefined || !isFinite(x)) return "-";
  return new Intl.NumberFormat("en", { maximumFractionDigits: x < 100 ? 2 : 0 }).format(x) + " " + (currency || "");
}
function number(x, digits) {
  if (x === null || x === undefined || !isFinite(x)) return "-";
  return new Intl.NumberFormat("en", { maximumFractionDigits: digits }).format(x);
}

async function call(path, body) {
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers.Authorization = "Bearer " + key;
  const response = await fetch(path, body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { data = text; }
  return { status: response.status, data };
}

function explain(answer) {
  const d = answer.data || {};
  if (answer.status === 401) {
    $("key-box").hidden = false;
    return "This server needs an API key: enter it on the left and try again.";
  }
  if (answer.status === 422 && Array.isArray(d.errors)) {
    return d.errors.map((e) => e.path + " = " + JSON.stringify(e.value) + ": " + e.rule).join("\n");
  }
  return (d && d.error) || ("The server answered " + answer.status + ".");
}

function show(text, info) {
  const box = $("message");
  box.hidden = !text;
  box.textContent = text || "";
  box.className = info ? "message info" : "message";
}

async function loadScenario(given) {
  show("");
  const answer = await call("v1/check", { scenario: given });
  if (answer.status !== 200) { show(explain(answer)); return; }
  base = answer.data.scenario;
  $("scenario-name").textContent = base.name;
  periodLabel = answer.data.period_label;
  $("period-label").textContent = periodLabel;
  buildSliders();
  replan();
}

async function loadExample(kind) {
  const response = await fetch("v1/example/" + kind, { headers: authHeader() });
  if (response.status !== 200) { show(explain({ status: response.status, data: await response.json().catch(() => null) })); return; }
  await loadScenario(await response.text());
}

function authHeader() {
  const key = $("api-key").value.trim();
  return key ? { Authorization: "Bearer " + key } : {};
}

// The knobs: total (and media) budget, the site's conversion rate, each tactic's CPM.
function knobs(s) {
  const out = [];
  if (s.budget && s.budget.total) out.push({ path: "budget.total", label: "Total budget (" + s.currency + ")", value: s.budget.total, lo: 0.2, hi: 2, money: true });
  if (s.budget && s.budget.media) out.push({ path: "budget.media", label: "Media budget cap (" + s.currency + ")", value: s.budget.media, lo: 0.2, hi: 2, money: true });
  if (s.site && s.site.conversion_rate) out.push({ path: "site.conversion_rate", label: "Site conversion rate", value: s.site.conversion_rate, lo: 0.25, hi: 2, digits: 4 });
  for (const t of s.tactics || []) {
    if (t.cpm) out.push({ path: "tactics." + t.id + ".cpm", label: "CPM of " + t.id + " (" + s.currency + ")", value: t.cpm, lo: 0.5, hi: 2, digits: 2 });
  }
  return out;
}

function buildSliders() {
  const box = $("sliders");
  box.textContent = "";
  sliders = knobs(base).map((k, i) => {
    const wrap = document.createElement("div");
    wrap.className = "slider";
    const id = "knob-" + i;
    wrap.innerHTML = '<div class="head"><label></label><output></output></div><input type="range"><div class="base"></div>';
    const input = wrap.querySelector("input");
    input.id = k.path === "budget.total" ? "budget" : id;
    input.dataset.path = k.path;
    const step = k.money ? Math.max(1, Math.round(k.value / 200)) : k.value / 200;
    input.min = String(k.value * k.lo);
    input.max = String(k.value * k.hi);
    input.step = String(step);
    input.value = String(k.value);
    wrap.querySelector("label").textContent = k.label;
    wrap.querySelector("label").htmlFor = input.id;
    wrap.querySelector(".base").textContent = "scenario: " + (k.money ? money(k.value, "") : number(k.value, k.digits));
    const output = wrap.querySelector("output");
    const render = () => { output.textContent = k.money ? money(Number(input.value), "") : number(Number(input.value), k.digits); };
    render();
    input.addEventListener("input", () => { render(); schedule(); });
    box.appendChild(wrap);
    return { path: k.path, input, base: k.value, render };
  });
  $("reset").disabled = false;
}

function changes() {
  const set = {};
  for (const s of sliders) {
    const v = Number(s.input.value);
    if (Math.abs(v - s.base) > 1e-12 * Math.max(1, Math.abs(s.base))) set[s.path] = v;
  }
  return set;
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(replan, 150);
}

async function replan() {
  if (!base) return;
  const n = ++asked;
  $("result").classList.add("busy");
  const answer = await call("v1/plan", { scenario: base, set: changes() });
  if (n !== asked) return;   // a newer change is on its way
  $("result").classList.remove("busy");
  if (answer.status !== 200) { show(explain(answer)); return; }
  render(answer.data);
}

function render(plan) {
  const cur = plan.currency;
  const ok = plan.status === "optimal";
  const status = $("status");
  status.textContent = ok ? "goals met" : "goals cannot be met";
  status.className = ok ? "optimal" : "infeasible";
  document.body.dataset.plans = String(asked);
  const warnings = (plan.warnings || []).map((w) => w.path + " = " + JSON.stringify(w.value) + ": " + w.rule);
  if (!ok) show((plan.diagnosis && plan.diagnosis.message) || "The goals cannot be met.", false);
  else show(warnings.length ? "Inputs to check:\n" + warnings.join("\n") : "", true);
  const kpis = plan.kpis || {};
  const totals = plan.totals || {};
  $("cpc").textContent = money(kpis.cost_per_conversion, cur);
  $("conversions").textContent = number(totals.conversions, 0);
  $("spent").textContent = money(totals.cost_total, cur);
  const communities = Object.entries(plan.community || {});
  $("community").textContent = !ok ? "-" : communities.length === 0 ? "none in scenario"
    : communities.map(([id, on]) => id + ": " + (on ? "build it" : "skip it")).join(", ");
  drawChart(plan.spend || {}, cur);
  // No plan: the diagnosis gives the best each goal can reach (all goals together).
  const goals = ok || !plan.diagnosis ? plan.goals || []
    : (plan.diagnosis.goals || []).map((g) => ({ ...g, achieved: g.best_together, met: !(g.shortfall > 0), hard: true }));
  const rows = goals.map((g) => {
    const tr = document.createElement("tr");
    const by = g.by ? " by " + periodLabel + " " + g.by : "";
    const cells = [g.metric + by + (g.hard ? "" : " (soft)"), number(g.target, g.target < 10 ? 3 : 0), number(g.achieved, g.target < 10 ? 3 : 0), g.met ? "yes" : "no"];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    tr.lastChild.className = g.met ? "optimal" : "infeasible";
    return tr;
  });
  $("goals").tBodies[0].replaceChildren(...rows);
  $("achieved-head").textContent = ok ? "Achieved" : "Best possible";
}

function drawChart(spend, currency) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const W = 720, H = 280, left = 56, right = 8, top = 10, bottom = 26;
  const ids = Object.keys(spend);
  const periods = ids.length ? spend[ids[0]].length : 0;
  const sums = Array.from({ length: periods }, (_, t) => ids.reduce((a, id) => a + (spend[id][t] || 0), 0));
  const max = Math.max(1, ...sums);
  const nice = Math.pow(10, Math.floor(Math.log10(max)));
  const ymax = Math.ceil(max / nice) * nice;
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const parts = [];
  const y = (v) => top + (H - top - bottom) * (1 - v / ymax);
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4;
    parts.push(el("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#e2e8f0" }));
    parts.push(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, number(v, 0)));
  }
  const slot = (W - left - right) / Math.max(1, periods);
  for (let t = 0; t < periods; t++) {
    let acc = 0;
    ids.forEach((id, j) => {
      const v = spend[id][t] || 0;
      if (v > 0) {
        const rect = el("rect", { x: left + t * slot + slot * 0.12, width: slot * 0.76, y: y(acc + v), height: y(acc) - y(acc + v), fill: COLORS[j % COLORS.length] });
        rect.appendChild(el("title", {}, id + ", " + periodLabel + " " + (t + 1) + ": " + money(v, currency)));
        parts.push(rect);
      }
      acc += v;
    });
    if (periods <= 26 || t % 2 === 0) parts.push(el("text", { x: left + (t + 0.5) * slot, y: H - 8, "text-anchor": "middle" }, String(t + 1)));
  }
  if (!sums.some((v) => v > 0)) {
    parts.length = 0;
    parts.push(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No plan: the goals cannot be met (see above)."));
  }
  svg.replaceChildren(...parts);
  $("legend").replaceChildren(...ids.map((id, j) => {
    const s = document.createElement("span");
    s.style.setProperty("--c", COLORS[j % COLORS.length]);
    s.textContent = id;
    return s;
  }));
}

$("load-full").addEventListener("click", () => loadExample("full"));
$("load-traffic").addEventListener("click", () => loadExample("traffic"));
$("upload").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (file) await loadScenario(await file.text());
});
$("api-key").addEventListener("change", () => (base ? replan() : loadExample("full")));
$("reset").addEventListener("click", () => {
  for (const s of sliders) { s.input.value = String(s.base); s.render(); }
  replan();
});
loadExample("full");
