"""The web page at ``/``: a form built from GET /schema to try a prediction and its explanation.

One static, self-contained document (inline CSS and JavaScript, nothing fetched from elsewhere).
The page itself carries no data about the run: its script reads /schema, /predict and /explain
with the bearer token the user types in (kept in the tab's sessionStorage) when the server needs
one. Values are always inserted as text, never as HTML. For image and audio runs the form has a
file input; the chosen file is previewed in the page and sent as base64 in the JSON record.
"""

from __future__ import annotations

__all__ = ["PAGE_HTML"]

_STYLE = """
:root { --fg:#1d2433; --muted:#5b6474; --line:#d9dee7; --accent:#2657d6; --bad:#b3261e;
        --up:#1a7f37; --down:#b3261e; font-family: system-ui, -apple-system, "Segoe UI",
        Roboto, sans-serif; color: var(--fg); }
body { margin: 0 auto; max-width: 1100px; padding: 1.2rem 1.5rem 3rem; line-height: 1.4; }
header { display:flex; flex-wrap:wrap; align-items:baseline; gap:.4rem 1.2rem;
         border-bottom:1px solid var(--line); padding-bottom:.6rem; }
h1 { font-size:1.3rem; margin:0; } h2 { font-size:1.05rem; margin:1.4rem 0 .5rem; }
nav a { margin-right: .9rem; color: var(--accent); }
.muted { color: var(--muted); font-size: .9rem; }
#fields { display:grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
          gap:.7rem 1rem; }
label { display:flex; flex-direction:column; font-size:.9rem; gap:.2rem; }
label span.kind { color: var(--muted); font-size: .78rem; }
label.wide { grid-column: 1 / -1; }
input, select, textarea { font: inherit; padding:.3rem .4rem; border:1px solid var(--line);
                          border-radius:4px; }
.invalid input, .invalid select, .invalid textarea { border-color: var(--bad); }
.fielderror { color: var(--bad); font-size: .8rem; }
button { font: inherit; padding:.45rem 1.1rem; margin-top:1rem; border:0; border-radius:4px;
         background: var(--accent); color:#fff; cursor:pointer; }
#error { color: var(--bad); white-space: pre-wrap; }
table { border-collapse: collapse; font-size:.9rem; }
td, th { padding:.2rem .6rem; border-bottom:1px solid var(--line); text-align:left; }
td.num { text-align:right; font-variant-numeric: tabular-nums; }
.bar { display:inline-block; height:.7rem; background: var(--accent); vertical-align: middle; }
.bar.up { background: var(--up); } .bar.down { background: var(--down); }
#prediction { font-size: 1.4rem; font-weight: 600; }
#tokenbox { display:none; margin-top: .8rem; }
.preview { max-width: 256px; max-height: 256px; image-rendering: pixelated; margin-top:.3rem; }
"""

_SCRIPT = r"""
"use strict";
const $ = (id) => document.getElementById(id);
const TRUE = ["true", "t", "yes", "y", "1", "1.0"];
let schema = null;

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const token = sessionStorage.getItem("mlvsdl-token");
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => d.loc.slice(1).join(".") + ": " + d.msg).join("\n");
  }
  return JSON.stringify(detail);
}

async function call(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (e) { body = { detail: response.statusText }; }
  if (response.status === 401) { $("tokenbox").style.display = "block"; }
  if (!response.ok) { const err = new Error(detailText(body.detail)); err.body = body; throw err; }
  return body;
}

function widget(field, index) {
  const id = "field-" + index;
  let input;
  const ref = field.reference;
  if (field.widget === "number") {
    input = el("input", { type: "number", step: "any" });
    if (ref !== null && ref !== undefined) input.value = ref;
  } else if (field.widget === "boolean") {
    input = el("select");
    for (const [v, t] of [["", "(missing)"], ["true", "true"], ["false", "false"]]) {
      input.appendChild(el("option", { value: v }, t));
    }
    if (ref !== null && ref !== undefined) {
      input.value = TRUE.includes(String(ref).toLowerCase()) ? "true" : "false";
    }
  } else if (field.widget === "category" && field.levels && field.levels.length) {
    input = el("select");
    input.appendChild(el("option", { value: "" }, "(missing)"));
    const levels = field.levels.slice();
    const known = ref === null || ref === undefined || levels.includes(String(ref));
    if (!known) levels.unshift(String(ref));
    for (const level of levels) input.appendChild(el("option", { value: level }, level));
    if (ref !== null && ref !== undefined) input.value = String(ref);
  } else if (field.widget === "text") {
    input = el("textarea", { rows: "2" });
    if (ref !== null && ref !== undefined) input.value = ref;
  } else if (field.widget === "image" || field.widget === "audio") {
    input = el("input", { type: "file", accept: (field.file && field.file.accept) || "" });
    input.addEventListener("change", () => preview(input));
  } else {
    input = el("input", { type: "text" });
    if (field.widget === "datetime") input.placeholder = "2024-01-31T12:00:00";
    if (ref !== null && ref !== undefined) input.value = ref;
  }
  input.id = id;
  input.dataset.name = field.name;
  input.dataset.widget = field.widget;
  const label = el("label", { for: id, id: "label-" + index });
  if (["text", "image", "audio"].includes(field.widget)) label.classList.add("wide");
  label.appendChild(el("span", {}, field.name));
  const kind = field.kind + (field.required ? ", required" : "");
  label.appendChild(el("span", { class: "kind" }, kind));
  label.appendChild(input);
  if (input.type === "file") label.appendChild(el("span", { class: "holder" }));
  label.appendChild(el("span", { class: "fielderror" }));
  return label;
}

function preview(input) {
  const holder = input.parentElement.querySelector(".holder");
  for (const old of holder.querySelectorAll("[src]")) URL.revokeObjectURL(old.src);
  holder.replaceChildren();
  const file = input.files && input.files[0];
  if (!file) return;
  const tag = input.dataset.widget === "image" ? "img" : "audio";
  const node = el(tag, { class: "preview", alt: file.name });
  if (tag === "audio") node.controls = true;
  node.src = URL.createObjectURL(file);
  holder.appendChild(node);
}

function fileContent(file) {  // the file as a data URL, which the server reads as base64
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error("could not read " + file.name));
    reader.readAsDataURL(file);
  });
}

async function record() {
  const row = {};
  for (const input of document.querySelectorAll("#fields [data-name]")) {
    if (input.type === "file") {
      const file = input.files && input.files[0];
      row[input.dataset.name] = file ? { base64: await fileContent(file) } : null;
      continue;
    }
    const raw = input.value.trim();
    let value = raw === "" ? null : raw;
    if (value !== null && input.dataset.widget === "number") value = Number(raw);
    if (value !== null && input.dataset.widget === "boolean") value = raw === "true";
    row[input.dataset.name] = value;
  }
  return row;
}

function showFieldErrors(body) {
  for (const label of document.querySelectorAll("#fields label")) {
    label.classList.remove("invalid");
    label.querySelector(".fielderror").textContent = "";
  }
  if (!body || !Array.isArray(body.detail)) return;
  for (const d of body.detail) {
    const input = Array.from(document.querySelectorAll("#fields [data-name]")).find(
      (i) => i.dataset.name === d.loc[d.loc.length - 1]);
    if (!input) continue;
    input.parentElement.classList.add("invalid");
    input.parentElement.querySelector(".fielderror").textContent = d.msg;
  }
}

function bar(width, cls) {
  const span = el("span", { class: "bar " + (cls || "") });
  span.style.width = Math.max(1, Math.round(width)) + "px";
  return span;
}

function showPrediction(result) {
  $("prediction").textContent = schema.target + ": " + result.prediction;
  const table = $("probabilities");
  table.replaceChildren();
  const ranked = Object.entries(result.probabilities || {}).sort((a, b) => b[1] - a[1]);
  for (const [label, p] of ranked.slice(0, 10)) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, label));
    tr.appendChild(el("td", { class: "num" }, p.toFixed(4)));
    const cell = el("td"); cell.appendChild(bar(200 * p)); tr.appendChild(cell);
    table.appendChild(tr);
  }
}

function showExplanation(result) {
  $("explained").textContent = "Contribution to the " + result.explained + ". " + result.method;
  const table = $("explanation");
  table.replaceChildren();
  const head = el("tr");
  for (const t of ["feature", "value", "typical value", "contribution", ""]) {
    head.appendChild(el("th", {}, t));
  }
  table.appendChild(head);
  const top = Math.max(1e-12, ...result.contributions.map((c) => Math.abs(c.contribution || 0)));
  for (const c of result.contributions) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, c.feature));
    tr.appendChild(el("td", {}, c.value === null ? "(missing)" : c.value));
    tr.appendChild(el("td", {}, c.reference === null ? "(missing)" : c.reference));
    const v = c.contribution || 0;
    tr.appendChild(el("td", { class: "num" }, (v >= 0 ? "+" : "") + v.toFixed(4)));
    const cell = el("td"); cell.appendChild(bar(150 * Math.abs(v) / top, v >= 0 ? "up" : "down"));
    tr.appendChild(cell);
    table.appendChild(tr);
  }
}

async function submit(event) {
  event.preventDefault();
  $("error").textContent = "";
  $("status").textContent = "predicting";
  try {
    const options = { method: "POST", headers: headers({ "Content-Type": "application/json" }),
                      body: JSON.stringify(await record()) };
    const prediction = await call("/predict", options);
    showFieldErrors(null);
    showPrediction(prediction.predictions[0]);
    const notes = (prediction.warnings || []).slice();
    const imputed = prediction.predictions[0].imputed;
    if (imputed) notes.unshift("imputed (never missing in training): " + imputed.join(", "));
    $("warnings").textContent = notes.join("\n");
    if (schema.explain) showExplanation(await call("/explain", options));
    $("status").textContent = "done";
  } catch (err) {
    showFieldErrors(err.body);
    $("error").textContent = err.message;
    $("status").textContent = "error";
  }
}

async function load() {
  $("status").textContent = "loading";
  try {
    schema = await call("/schema", { headers: headers() });
  } catch (err) {
    $("error").textContent = err.message;
    $("status").textContent = "error";
    return;
  }
  $("title").textContent = "Predict " + schema.target;
  $("subtitle").textContent =
    "model " + schema.model + " of run " + schema.run_id + " (" + schema.task + ")";
  const box = $("fields");
  box.replaceChildren();
  schema.fields.forEach((field, i) => box.appendChild(widget(field, i)));
  const media = schema.fields.find((f) => f.widget === "image" || f.widget === "audio");
  if (media) {
    $("hint").textContent = "Choose a file (" + media.file.formats.join(", ") + ") and press " +
      "Predict; it is sent as base64 and brought to the size the model was trained on.";
  }
  if (!schema.explain) {
    $("predict").textContent = "Predict";
    $("explained").textContent = schema.explain_unavailable || "No explanation for this model.";
  }
  $("status").textContent = "ready";
}

$("tokenform").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("mlvsdl-token", $("token").value.trim());
  $("tokenbox").style.display = "none";
  $("error").textContent = "";
  load();
});
$("predict-form").addEventListener("submit", submit);
load();
"""

PAGE_HTML = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>mlvsdl: try the model</title>
<style>{_STYLE}</style>
</head>
<body>
<header>
  <h1 id="title">mlvsdl</h1>
  <span id="subtitle" class="muted"></span>
  <nav><a href="/report">Report</a><a href="/docs">API docs</a><a href="/models">Models</a></nav>
</header>
<div id="tokenbox">
  <form id="tokenform">
    <label>This server needs a bearer token <input id="token" type="password"></label>
    <button type="submit">Use token</button>
  </form>
</div>
<form id="predict-form">
  <h2>Input</h2>
  <p class="muted" id="hint">Filled with typical training values; change any field and press
  Predict. Empty means missing, which required fields (never missing in training) refuse
  unless the server runs with --allow-missing.</p>
  <div id="fields"></div>
  <button type="submit" id="predict">Predict and explain</button>
  <span id="status" class="muted"></span>
</form>
<div id="error"></div>
<h2>Prediction</h2>
<div id="prediction"></div>
<table id="probabilities"></table>
<div id="warnings" class="muted"></div>
<h2>Why</h2>
<p id="explained" class="muted"></p>
<table id="explanation"></table>
<script>{_SCRIPT}</script>
</body>
</html>
"""
