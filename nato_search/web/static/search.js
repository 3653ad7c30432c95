// The search page: plain JavaScript, no build step. The page's state (query, page, the
// facet values chosen, one hit per document or all) lives in its URL, so a link, a reload
// or the back button shows the same results. Snippets and titles come from the server as
// escaped HTML whose only markup is <mark>; every other string from a document is set as
// text. What the server was told to show (create_app's page options) is in data-config.
"use strict";

const PAGE_SIZE = 10;
const DEBOUNCE_MS = 150;
const CONFIG = JSON.parse(document.body.dataset.config || "{}");
const FACETS = CONFIG.facets || ["year"];
const PER_DOCUMENT = CONFIG.per_document || 0; // 0: every paragraph at first
const LABELS = { year: "Année", month: "Mois", doc_id: "Document" };
const MOST_VALUES = 20; // values a facet lists

const $ = (id) => document.getElementById(id);
const input = $("q");
const perDocument = $("per-document");
const resultList = $("results");

let state = readState();
let timer = null;
let pending = null; // the AbortController of the request in flight

// A facet's value in the URL: "year" and "month" as themselves, a metadata key as "f.key".
function urlName(name) {
  return name === "year" || name === "month" ? name : "f." + name;
}

function readState() {
  const params = new URLSearchParams(location.search);
  const page = parseInt(params.get("page") || "1", 10);
  const chosen = {};
  for (const name of FACETS) {
    const value = params.get(urlName(name));
    if (value) chosen[name] = value;
  }
  return {
    q: params.get("q") || "",
    page: page > 0 ? page : 1,
    chosen: chosen,
    one: params.has("one") ? params.get("one") === "1" : PER_DOCUMENT > 0,
  };
}

function stateUrl() {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  if (state.page > 1) params.set("page", String(state.page));
  for (const name of FACETS) if (state.chosen[name]) params.set(urlName(name), state.chosen[name]);
  if (state.one !== PER_DOCUMENT > 0) params.set("one", state.one ? "1" : "0");
  const search = params.toString();
  return search ? "?" + search : "./";
}

// What the engine is asked: a year or month is the query language's date:, the other
// facets a filter expression (values quoted as the server's filters.quote does).
function engineQuery() {
  let query = state.q;
  for (const name of ["year", "month"]) if (state.chosen[name]) query += " date:" + state.chosen[name];
  return query;
}

function quote(value) {
  return '"' + value.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
}

function engineFilter() {
  return Object.entries(state.chosen)
    .filter(([name]) => name !== "year" && name !== "month")
    .map(([name, value]) => name + " = " + quote(value))
    .join(" AND ");
}

function browsing() {
  return !state.q.trim();
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
  if (browsing() && !CONFIG.placeholder && !Object.keys(state.chosen).length) {
    render(null);
    return;
  }
  const params = new URLSearchParams({
    q: engineQuery(),
    limit: String(PAGE_SIZE),
    offset: String((state.page - 1) * PAGE_SIZE),
  });
  if (FACETS.length) params.set("facets", FACETS.join(","));
  if (browsing()) params.set("sort", "-date"); // before a query: the newest first
  else params.set("prefix", "true");
  if (state.one) params.set("per_document", String(PER_DOCUMENT || 1));
  const filter = engineFilter();
  if (filter) params.set("filter", filter);
  const controller = new AbortController();
  pending = controller;
  let body;
  try {
    const response = await fetch("search?" + params, {
      signal: controller.signal,
      headers: { Accept: "application/json" },
    });
    body = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error("HTTP " + response.status), { status: response.status, body: body });
  } catch (error) {
    if (error.name === "AbortError") return;
    render(null); // no results of an earlier query under the message
    $("error").textContent = frenchError(error.status || 0, error.body || {});
    $("error").hidden = false;
    return;
  } finally {
    if (pending === controller) pending = null;
  }
  render(body);
}

// The server's errors are English (for developers); the page says what they mean in French.
function frenchError(status, body) {
  const message = typeof body.error === "string" ? body.error : "";
  if (status === 0) return "Le serveur ne répond pas ; réessayez dans un instant.";
  if (status === 400) {
    const date = /(date:\S+?): /.exec(message);
    if (body.parameter === "q" && date) {
      return "La date « " + date[1] + " » n’existe pas ou ne s’écrit pas AAAA, AAAA-MM ou AAAA-MM-JJ.";
    }
    if (body.parameter === "filter" || body.parameter === "facets") {
      return "Ce filtre ne convient pas à cet index.";
    }
    return "La recherche n’a pas été comprise.";
  }
  if (status === 401 || status === 403) return "Cette recherche demande une clé d’accès.";
  if (status === 503) return "L’index n’est pas disponible pour le moment ; réessayez dans un instant.";
  return "Le serveur a rencontré une erreur (" + status + ").";
}

function render(body) {
  resultList.replaceChildren();
  $("suggestion").hidden = true;
  $("pages").hidden = true;
  $("facets").replaceChildren();
  if (body === null) {
    $("status").textContent = "";
    return;
  }
  const unit = state.one ? "document" : "résultat";
  const total = body.total;
  const first = body.offset + 1;
  const last = body.offset + body.hits.length;
  const plural = total > 1 ? "s" : "";
  let status;
  if (total === 0 && browsing()) status = "Aucun document.";
  else if (total === 0) status = "Aucun résultat pour « " + state.q + " ».";
  else if (browsing() && first === 1) status = total + " " + unit + plural + ", les plus récents d’abord.";
  else if (body.hits.length === 0) status = total + " " + unit + (total > 1 ? "s" : "") + " ; cette page est vide.";
  else if (first === 1 && last === total) status = total + " " + unit + (total > 1 ? "s" : "") + ".";
  else status = unit[0].toUpperCase() + unit.slice(1) + "s " + first + "–" + last + " sur " + total + ".";
  $("status").textContent = status;

  if (body.suggestion) {
    let suggestion = body.suggestion;
    const dates = engineQuery().slice(state.q.length); // the facets' date:, not typed
    if (dates && suggestion.endsWith(dates)) suggestion = suggestion.slice(0, -dates.length);
    const link = $("suggestion-link");
    link.textContent = suggestion;
    link.href = "?" + new URLSearchParams({ q: suggestion });
    $("suggestion").hidden = false;
  }

  for (const hit of body.hits) resultList.append(hitItem(hit));

  for (const name of FACETS) {
    const facet = facetList(name, (body.facets && body.facets[name]) || {});
    if (facet) $("facets").append(facet);
  }

  $("previous").disabled = state.page <= 1;
  $("next").disabled = last >= total;
  $("pages").hidden = total <= PAGE_SIZE && state.page === 1;
}

function hitItem(hit) {
  // a hit that matched by its title alone shows its document's first paragraph
  const shown = hit.lead || { paragraph: hit.paragraph, snippet_html: hit.snippet_html };
  const item = document.createElement("li");
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  link.className = "hit";
  link.href = documentUrl(hit.doc_id, shown.paragraph);
  if (hit.title) link.innerHTML = hit.title_html; // escaped by the server, <mark> only
  else link.textContent = hit.doc_id;
  heading.append(link);
  const meta = document.createElement("p");
  meta.className = "meta";
  const where = [frenchDate(hit.date), hit.doc_id, "paragraphe " + (shown.paragraph + 1)];
  if (hit.page && !hit.lead) where.push("page " + hit.page);
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
  snippet.innerHTML = shown.snippet_html; // escaped by the server, <mark> only
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

function documentUrl(docId, paragraph) {
  // the words to mark; the facets chosen do not change what matched in this document
  const params = new URLSearchParams({ paragraph: String(paragraph) });
  if (state.q.trim()) {
    params.set("q", state.q);
    params.set("prefix", "true");
  }
  return "documents/" + encodeURIComponent(docId) + "?" + params + "#p-" + paragraph;
}

function facetList(name, counts) {
  // dates newest first, other values most frequent first; the chosen one always shown
  const values = Object.entries(counts);
  if (name === "year" || name === "month") values.sort((a, b) => b[0].localeCompare(a[0]));
  else values.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], "fr"));
  const shown = values.slice(0, MOST_VALUES);
  const chosen = state.chosen[name];
  if (chosen && !shown.some(([value]) => value === chosen)) shown.push([chosen, counts[chosen] || 0]);
  if (!shown.length) return null;
  const nav = document.createElement("nav");
  nav.className = "facet";
  nav.dataset.facet = name;
  const label = LABELS[name] || name[0].toUpperCase() + name.slice(1);
  nav.setAttribute("aria-label", "Filtrer par " + label.toLowerCase());
  const heading = document.createElement("h2");
  heading.textContent = label;
  const list = document.createElement("ul");
  for (const [value, count] of shown) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = name === "year" ? "year value" : "value";
    button.dataset.facet = name;
    button.dataset.value = value;
    if (name === "year") button.dataset.year = value;
    button.setAttribute("aria-pressed", String(chosen === value));
    button.textContent = value + " (" + count + ")";
    item.append(button);
    list.append(item);
  }
  nav.append(heading, list);
  return nav;
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

$("facets").addEventListener("click", (event) => {
  const button = event.target.closest("button.value");
  if (!button) return;
  const { facet, value } = button.dataset;
  const chosen = { ...state.chosen };
  if (chosen[facet] === value) delete chosen[facet];
  else chosen[facet] = value;
  go({ chosen: chosen, page: 1 }, "push").then(() => {
    const again = document.querySelector(
      'button.value[data-facet="' + CSS.escape(facet) + '"][data-value="' + CSS.escape(value) + '"]',
    );
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
