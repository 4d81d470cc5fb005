// Wall display: open beds by level of care, for a TV across a room. Counts and program names
// only; nothing about any client. Updates arrive live; pages turn when they do not all fit.
import { $, LiveFeed, api, config, connectionWords, el, flash, signIn, statusWord, timeAgo } from "./common.js";

const params = new URLSearchParams(location.search);
const wanted = (name) => (params.get(name) || "").split(",").map((s) => s.trim()).filter(Boolean);
const levelsWanted = wanted("levels");
const areasWanted = wanted("area").map((a) => a.toLowerCase());
// The server chose the language (?lang=, cookie, browser); `?lang=all` gives every catalog.
const rotation = params.get("lang") === "all" ? t.languages() : [t.lang];
const PAGE_SECONDS = Math.max(5, Number(params.get("seconds")) || 15);
const LANG_SECONDS = 20;

const programs = new Map(); // id -> {id, name, level_of_care, area, units: Map}
const unitProgram = new Map();
const populations = new Map(); // unit id -> {genders, age_min, age_max}: public directory facts
let lang = rotation[0];
let pages = [[]];
let pageIndex = 0;
let connState = "connecting";
let connSince = null; // when the feed was last known current (while "stale")
let feed;
let lastRefetch = 0;

// The wall's words, in the language on screen now (t.use switches it as the wall rotates).
const w = () => ({
  title: t("Open beds now"), no_changes: t("No changes yet"), all_levels: t("All levels of care"),
  ticker: t("Latest changes"), none: t("No programs to show."), continued: t("(continued)"),
  stale: t("Not confirmed recently"),
  total: (n) => t("{n} open", { n: t.number(n) }),
  open_label: (n) => t.n("open", "open", n),
  page: (i, n) => t("Page {i} of {n}", { i: t.number(i), n: t.number(n) }),
});

function levelLabel(key) {
  const names = (config.level_names && config.level_names[lang]) || config.levels;
  return names[key] || config.levels[key] || key;
}

function summary(program) {
  const units = [...program.units.values()];
  const open = units.reduce((n, u) => n + u.available, 0);
  const waitlist = units.reduce((n, u) => n + u.waitlist, 0);
  const capacity = units.reduce((n, u) => n + u.capacity, 0);
  const status = capacity === 0 ? "closed" : open > 0 ? "open" : waitlist > 0 ? "waitlist" : "full";
  const stale = units.length === 0 || units.some((u) => u.stale);
  const times = units.map((u) => u.updated_at).filter(Boolean).sort();
  return { open, status, stale, updated: times.length ? times[times.length - 1] : null, units };
}

function keep(program) {
  if (levelsWanted.length && !levelsWanted.includes(program.level_of_care)) return false;
  return !areasWanted.length || areasWanted.includes((program.area || "").toLowerCase());
}

async function load() {
  const query = new URLSearchParams({ limit: "2000" });
  for (const level of levelsWanted) query.append("level_of_care", level);
  const data = await api(`/api/v1/programs?${query}`);
  for (const p of data.programs) {
    if (!keep(p)) continue;
    const known = programs.get(p.id);
    const program = { id: p.id, name: p.name, level_of_care: p.level_of_care, area: p.area,
                      units: known ? known.units : new Map() };
    for (const unit of p.units) {
      unitProgram.set(unit.id, p.id);
      populations.set(unit.id, { genders: unit.genders || [], age_min: unit.age_min, age_max: unit.age_max });
      if (feed.fresher(unit)) program.units.set(unit.id, unit);
    }
    programs.set(p.id, program);
  }
}

/** The items in reading order: a heading per level, then its programs, most beds first. */
function items() {
  const order = Object.keys(config.levels);
  const groups = new Map();
  for (const program of programs.values()) {
    if (!groups.has(program.level_of_care)) groups.set(program.level_of_care, []);
    groups.get(program.level_of_care).push(program);
  }
  const keys = [...groups.keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const out = [];
  for (const key of keys) {
    const list = groups.get(key);
    list.sort((a, b) => summary(b).open - summary(a).open || a.name.localeCompare(b.name));
    out.push({ kind: "level", key });
    for (const program of list) out.push({ kind: "program", id: program.id, level: key });
  }
  return out;
}

function levelHeading(key, continued) {
  const total = [...programs.values()].filter((p) => p.level_of_care === key)
    .reduce((n, p) => n + summary(p).open, 0);
  return el("h2", { class: "wall-level", dataset: { level: key } },
    el("span", { class: "wall-level-name", text: levelLabel(key) + (continued ? ` ${w().continued}` : "") }),
    el("span", { class: "wall-level-total", text: w().total(total) }));
}

// Who a group of units serves, in the language on screen.
const populationWords = () => ({
  female: t("Women"), male: t("Men"), nonbinary: t("Nonbinary"), all: t("All genders"),
  ages: (a, b) => (b >= 120 ? t("Ages {min}+", { min: a }) : t("Ages {min}–{max}", { min: a, max: b })),
});

/** The program's open count per population, when its units serve different ones (e.g. a
 * women's and a men's unit): [{label, open}], or [] when they all serve the same people. */
function populationSplit(program) {
  const groups = new Map();
  for (const unit of program.units.values()) {
    const pop = populations.get(unit.id);
    if (!pop) continue;
    const key = `${[...pop.genders].sort().join("+")}|${pop.age_min}|${pop.age_max}`;
    if (!groups.has(key)) groups.set(key, { pop, open: 0 });
    groups.get(key).open += unit.available;
  }
  if (groups.size < 2) return [];
  // Women before men before nonbinary, younger before older: the same order on every tile.
  const rank = (pop) => ["female", "male", "nonbinary"].map((g) => (pop.genders.includes(g) ? 0 : 1)).join("") + String(pop.age_min).padStart(3, "0");
  const list = [...groups.values()].sort((a, b) => rank(a.pop).localeCompare(rank(b.pop)));
  const words = populationWords();
  const gendersDiffer = new Set(list.map((g) => [...g.pop.genders].sort().join("+"))).size > 1;
  const agesDiffer = new Set(list.map((g) => `${g.pop.age_min}|${g.pop.age_max}`)).size > 1;
  return list.map(({ pop, open }) => {
    const parts = [];
    if (gendersDiffer) parts.push(pop.genders.length >= 3 ? words.all : pop.genders.map((g) => words[g] || g).join(" & "));
    if (agesDiffer) parts.push(words.ages(pop.age_min, pop.age_max));
    return { label: parts.join(" "), open };
  });
}

function tile(program) {
  const s = summary(program);
  const split = populationSplit(program);
  const node = el("article", {
    class: `tile status-${s.status}${s.stale ? " stale" : ""}`,
    dataset: { program: program.id }, "aria-label": program.name,
  },
    el("div", { class: "tile-text" },
      el("h3", { class: "tile-name", text: program.name }),
      el("p", { class: "tile-meta" },
        el("span", { class: "pill", text: statusWord(s.status) }),
        el("span", { class: "tile-area", text: program.area || "" })),
      split.length ? el("p", { class: "tile-split" }, split.flatMap((g, i) => [
        i ? " · " : null, el("span", { class: "split-part" }, `${g.label} `, el("strong", { text: String(g.open) }))])) : null,
      el("p", { class: "tile-age" },
        s.stale ? el("span", { class: "stale-label", text: w().stale }) : null,
        el("span", { class: "age", dataset: { updated: s.updated || "" }, text: timeAgo(s.updated) }))),
    el("p", { class: "tile-count" },
      el("span", { class: "count", text: String(s.open) }),
      el("span", { class: "count-label", text: w().open_label(s.open) })));
  return node;
}

function overflowing(grid) {
  return grid.scrollWidth > grid.clientWidth + 2 || grid.scrollHeight > grid.clientHeight + 2;
}

function groupSection(key, continued) {
  return el("section", { class: "wall-group", dataset: { level: key } }, levelHeading(key, continued));
}

/** Split the items into pages by laying them out and watching for overflow. A level's
 * programs stay together in one column when they fit; a level too long for what is left
 * continues on the next page under a "(continued)" heading. */
function paginate() {
  const grid = $("#wall-grid");
  pages = [];
  let current = [];
  let section = null;
  grid.replaceChildren();
  for (const item of items()) {
    if (item.kind === "level") {
      section = groupSection(item.key, false);
      grid.append(section);
      current.push(item);
      continue;
    }
    const node = tile(programs.get(item.id));
    section.append(node);
    if (section.getClientRects().length > 1 && section.querySelectorAll(".tile").length > 1) {
      // The level ran into the next column: give that column its own heading.
      node.remove();
      section = groupSection(item.level, true);
      grid.append(section);
      section.append(node);
      current.push({ kind: "level", key: item.level, continued: true });
    }
    if (overflowing(grid) && current.some((i) => i.kind === "program")) {
      node.remove();
      const level = section.dataset.level;
      const alone = section.querySelectorAll(".tile").length === 0;
      if (alone) current.pop(); // the heading moves to the next page with its programs
      pages.push(current);
      current = [{ kind: "level", key: level, continued: !alone }];
      grid.replaceChildren();
      section = groupSection(level, !alone);
      grid.append(section);
      section.append(node);
    }
    current.push(item);
  }
  pages.push(current);
  if (pageIndex >= pages.length) pageIndex = 0;
  render();
}

function render() {
  const grid = $("#wall-grid");
  const page = pages[pageIndex] || [];
  const nodes = [];
  let section = null;
  for (const item of page) {
    if (item.kind === "level") {
      section = groupSection(item.key, item.continued);
      nodes.push(section);
    } else if (section && programs.has(item.id)) {
      section.append(tile(programs.get(item.id)));
    }
  }
  grid.replaceChildren(...nodes);
  if (!programs.size) grid.append(el("p", { class: "wall-empty", text: w().none }));
  $("#wall-page").textContent = pages.length > 1 ? w().page(pageIndex + 1, pages.length) : "";
}

function labels() {
  t.use(lang);
  document.title = `${w().title} · Bedfinder`;
  $("#wall-title").textContent = w().title;
  const parts = [levelsWanted.length ? levelsWanted.map(levelLabel).join(", ") : w().all_levels];
  if (areasWanted.length) parts.push(wanted("area").join(", "));
  $("#wall-sub").textContent = parts.join(" · ");
  $("#ticker-title").textContent = w().ticker;
  const empty = $("#ticker .ticker-empty");
  if (empty) empty.textContent = w().no_changes;
  else if (!$("#ticker").children.length) $("#ticker").append(el("li", { class: "ticker-empty", text: w().no_changes }));
  showConnection(connState, { since: connSince });
}

function showConnection(state, detail) {
  connState = state;
  if (state === "stale") connSince = detail && detail.since;
  // Counts are dimmed (style.css) whenever the feed is not live: never a silent stale wall.
  document.documentElement.dataset.live = state === "live" ? "yes" : "no";
  const badge = $("#conn");
  badge.dataset.state = state;
  $("#conn-text").textContent = connectionWords(state, { since: connSince });
}

function tick() {
  $("#wall-clock").textContent = new Date().toLocaleTimeString(lang,
    { hour: "2-digit", minute: "2-digit" });
  for (const age of document.querySelectorAll(".tile .age")) {
    age.textContent = timeAgo(age.dataset.updated || null);
  }
}

function ticker(program, before, after) {
  const list = $("#ticker");
  list.querySelector(".ticker-empty")?.remove();
  const time = new Date().toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  list.prepend(el("li", {}, el("span", { class: "ticker-time", text: time }), ` ${program.name}: `,
    el("strong", { text: `${before} → ${after}` })));
  while (list.children.length > 4) list.lastElementChild.remove();
}

function applyUnit(unit) {
  const programId = unitProgram.get(unit.id) || unit.program_id;
  const program = programs.get(programId);
  if (!program) {
    if (Date.now() - lastRefetch > 60000) {
      lastRefetch = Date.now();
      load().then(paginate).catch(() => {});
    }
    return;
  }
  const was = program.units.get(unit.id);
  const before = summary(program).open;
  program.units.set(unit.id, unit);
  const after = summary(program).open;
  if (before !== after) ticker(program, before, after);
  const shown = document.querySelector(`.tile[data-program="${CSS.escape(program.id)}"]`);
  if (shown) {
    const fresh = tile(program);
    shown.replaceWith(fresh);
    if (!was || was.available !== unit.available || was.status !== unit.status) flash(fresh);
  }
  for (const heading of document.querySelectorAll(`.wall-level[data-level="${CSS.escape(program.level_of_care)}"]`)) {
    const total = [...programs.values()].filter((p) => p.level_of_care === program.level_of_care)
      .reduce((n, p) => n + summary(p).open, 0);
    heading.querySelector(".wall-level-total").textContent = w().total(total);
  }
}

async function main() {
  await signIn({ roles: ["display", "admin", "navigator", "provider"], anonymous: true });
  labels();
  feed = new LiveFeed({
    onState: showConnection,
    onSnapshot: (units) => {
      units.forEach(applyUnit);
    },
    onUnit: applyUnit,
  });
  try {
    await load();
    lastRefetch = Date.now();
  } catch (error) {
    $("#wall-grid").replaceChildren(el("p", { class: "error", text: error.message }));
  }
  paginate();
  feed.start();
  tick();
  setInterval(tick, 15000);
  setInterval(() => {
    pageIndex = (pageIndex + 1) % Math.max(1, pages.length);
    if (pageIndex === 0) paginate();
    else render();
  }, PAGE_SECONDS * 1000);
  if (rotation.length > 1) {
    let i = 0;
    setInterval(() => {
      i = (i + 1) % rotation.length;
      lang = rotation[i];
      labels();
      render();
      tick();
    }, LANG_SECONDS * 1000);
  }
  window.addEventListener("resize", () => paginate());
  setInterval(() => load().then(paginate).catch(() => {}), 300000);
}

main();
