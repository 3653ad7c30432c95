// The search page: plain JavaScript, no build step. The page's state (query, page, year,
// one hit per document) lives in its URL, so a link, a reload or the back button shows
// the same results. Snippets and titles come from the server as escaped HTML whose only
// markup is <mark>; every other string from a document is set as text.
"use strict";

const PAGE_SIZE = 10;
const DEBOUNCE_MS = 150;

const $ = (id) => document.getElementById(id);
const input = $("q");
const perDocument = $("per-document");
const resultList = $("results");

let state = readState();
let timer = null;
let pending = null; // the AbortController of the request in flight

function readState() {
  const params = new URLSearchParams(location.search);
  const page = parseInt(params.get("page") || "1", 10);
  return {
    q: params.get("q") || "",
    page: page > 0 ? page : 1,
    year: params.get("year") || "",
    one: params.get("one") === "1",
  };
}

function stateUrl() {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  if (state.page > 1) params.set("page", String(state.page));
  if (state.year) params.set("year", state.year);
  if (state.one) params.set("one", "1");
  const search = params.toString();
  return search ? "?" + search : "./";
}

// What the engine is asked: the year filter is the query language's date:YYYY.
function engineQuery() {
  return state.year ? state.q + " date:" + state.year : state.q;
}

function go(changes, how) {
  Object.assign(state, changes);
  if (how === "push") history.pushState(null, "", stateUrl());
  else history.replaceState(null, "", stateUrl());
  return run();
}

function showState() {
  input.value = state.q;
  perDocument.checked = state.one;
}

async function run() {
  clearTimeout(timer);
  if (pending) pending.abort();
  $("error").hidden = true;
  if (!state.q.trim()) {
    render(null);
    return;
  }
  const params = new URLSearchParams({
    q: engineQuery(),
    limit: String(PAGE_SIZE),
    offset: String((state.page - 1) * PAGE_SIZE),
    prefix: "true",
    facets: "year",
  });
  if (state.one) params.set("per_document", "1");
  const controller = new AbortController();
  pending = controller;
  let body;
  try {
    const response = await fetch("search?" + params, {
      signal: controller.signal,
      headers: { Accept: "application/json" },
    });
    body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
  } catch (error) {
    if (error.name === "AbortError") return;
    render(null); // no results of an earlier query under the message
    $("error").textContent = "La recherche a échoué : " + error.message;
    $("error").hidden = false;
    return;
  } finally {
    if (pending === controller) pending = null;
  }
  render(body);
}

function render(body) {
  resultList.replaceChildren();
  $("suggestion").hidden = true;
  $("pages").hidden = true;
  $("years").hidden = true;
  if (body === null) {
    $("status").textContent = "";
    return;
  }
  const unit = state.one ? "document" : "résultat";
  const total = body.total;
  const first = body.offset + 1;
  const last = body.offset + body.hits.length;
  let status;
  if (total === 0) status = "Aucun résultat pour « " + state.q + " ».";
  else if (body.hits.length === 0) status = total + " " + unit + (total > 1 ? "s" : "") + " ; cette page est vide.";
  else if (first === 1 && last === total) status = total + " " + unit + (total > 1 ? "s" : "") + ".";
  else status = unit[0].toUpperCase() + unit.slice(1) + "s " + first + "–" + last + " sur " + total + ".";
  $("status").textContent = status;

  if (body.suggestion) {
    let suggestion = body.suggestion;
    const yearSuffix = " date:" + state.year;
    if (state.year && suggestion.endsWith(yearSuffix)) suggestion = suggestion.slice(0, -yearSuffix.length);
    const link = $("suggestion-link");
    link.textContent = suggestion;
    link.href = "?" + new URLSearchParams({ q: suggestion });
    $("suggestion").hidden = false;
  }

  for (const hit of body.hits) resultList.append(hitItem(hit));

  const years = Object.entries((body.facets && body.facets.year) || {});
  if (years.length || state.year) {
    years.sort((a, b) => b[0].localeCompare(a[0]));
    const list = $("year-list");
    list.replaceChildren();
    for (const [year, count] of years) list.append(yearItem(year, count));
    if (state.year && !years.some(([year]) => year === state.year)) list.append(yearItem(state.year, 0));
    $("years").hidden = false;
  }

  $("previous").disabled = state.page <= 1;
  $("next").disabled = last >= total;
  $("pages").hidden = total <= PAGE_SIZE && state.page === 1;
}

function hitItem(hit) {
  const item = document.createElement("li");
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  link.className = "hit";
  link.href = documentUrl(hit);
  if (hit.title) link.innerHTML = hit.title_html; // escaped by the server, <mark> only
  else link.textContent = hit.doc_id;
  heading.append(link);
  const meta = document.createElement("p");
  meta.className = "meta";
  const where = [frenchDate(hit.date), hit.doc_id, "paragraphe " + (hit.paragraph + 1)];
  if (hit.page) where.push("page " + hit.page);
  meta.textContent = where.join(" · ");
  const source = sourceUrl(hit.metadata && hit.metadata.url);
  if (source) {
    const out = document.createElement("a");
    out.className = "source";
    out.href = source.href;
    out.rel = "noopener noreferrer";
    out.textContent = source.host;
    meta.append(" · ", out);
  }
  const snippet = document.createElement("p");
  snippet.className = "snippet";
  snippet.innerHTML = hit.snippet_html; // escaped by the server, <mark> only
  item.append(heading, meta, snippet);
  return item;
}

const MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
  "septembre", "octobre", "novembre", "décembre"];

function frenchDate(iso) {
  // "2023-07-12" → "12 juillet 2023"; 1 is "1er" in French
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  if (!match) return "sans date";
  const day = Number(match[3]);
  return (day === 1 ? "1er" : String(day)) + " " + MONTHS[Number(match[2]) - 1] + " " + match[1];
}

function sourceUrl(value) {
  // a document's url metadata, as a link only for http(s): never javascript: or data:
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return ["http", "https"].includes(url.protocol.slice(0, -1)) ? url : null;
  } catch {
    return null;
  }
}

function documentUrl(hit) {
  // the words to mark; the year filter does not change what matched in this document
  const params = new URLSearchParams({
    q: state.q,
    prefix: "true",
    paragraph: String(hit.paragraph),
  });
  return "documents/" + encodeURIComponent(hit.doc_id) + "?" + params + "#p-" + hit.paragraph;
}

function yearItem(year, count) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "year";
  button.dataset.year = year;
  button.setAttribute("aria-pressed", String(state.year === year));
  button.textContent = year + " (" + count + ")";
  item.append(button);
  return item;
}

function links() {
  return Array.from(resultList.querySelectorAll("a.hit"));
}

input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => go({ q: input.value, page: 1 }, "replace"), DEBOUNCE_MS);
});

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  go({ q: input.value, page: 1 }, "push");
});

input.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" && links().length) {
    event.preventDefault();
    links()[0].focus();
  }
});

resultList.addEventListener("keydown", (event) => {
  const all = links();
  const at = all.indexOf(document.activeElement);
  if (at < 0) return;
  if (event.key === "ArrowDown" && at + 1 < all.length) {
    event.preventDefault();
    all[at + 1].focus();
  } else if (event.key === "ArrowUp") {
    event.preventDefault();
    (at > 0 ? all[at - 1] : input).focus();
  } else if (event.key === "Escape") {
    input.focus();
  }
});

$("suggestion-link").addEventListener("click", (event) => {
  event.preventDefault();
  go({ q: event.currentTarget.textContent, page: 1 }, "push");
  showState();
});

$("year-list").addEventListener("click", (event) => {
  const button = event.target.closest("button.year");
  if (!button) return;
  const year = button.dataset.year;
  go({ year: state.year === year ? "" : year, page: 1 }, "push").then(() => {
    const again = document.querySelector('button.year[data-year="' + CSS.escape(year) + '"]');
    if (again) again.focus(); // the list was drawn anew: keep the keyboard where it was
  });
});

perDocument.addEventListener("change", () => go({ one: perDocument.checked, page: 1 }, "push"));
$("previous").addEventListener("click", () => go({ page: state.page - 1 }, "push"));
$("next").addEventListener("click", () => go({ page: state.page + 1 }, "push"));

window.addEventListener("popstate", () => {
  state = readState();
  showState();
  run();
});

showState();
input.focus();
input.setSelectionRange(input.value.length, input.value.length);
run();
