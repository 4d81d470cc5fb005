// The analytics page: asks /api/v1/reports/<measure> with the tab's token and draws each
// measure as a chart (vendored Chart.js) beside a table with the same numbers, so screen
// readers and people who prefer numbers get everything the chart shows.

import {
  $, ApiError, api, clearToken, config, el, getToken, levelName, setToken,
  takeTokenFromAddress,
} from "../common.js";
import { downloadCsv, heatTable, section, table } from "./parts.js";

const PALETTE = ["#0b5cad", "#a1261c", "#0a6b31", "#7a4d00", "#6a3d9a", "#00677f",
                 "#b0358a", "#4a5561", "#8c510a", "#1f3a93", "#2d6a4f", "#9c2f00"];
const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const charts = [];

function isoDay(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function params() {
  const form = $("#filters");
  const p = new URLSearchParams({ from: form.from.value, to: form.to.value, tz,
                                  bucket: form.bucket.value });
  if (form.level.value) p.append("level", form.level.value);
  return p;
}

const measure = (name, p) => api(`/api/v1/reports/${name}?${p}`);

function sum(rows, key) { return rows.reduce((a, r) => a + (r[key] || 0), 0); }

function groupSum(rows, by, key) {
  const out = new Map();
  for (const r of rows) out.set(r[by], (out.get(r[by]) || 0) + (r[key] || 0));
  return out;
}

function percent(x) { return x === null || x === undefined ? t("no data") : t.number(x, { style: "percent" }); }
const round1 = (x) => Math.round(x * 10) / 10;

function chart(canvas, type, labels, datasets, { yTitle, xTitle, stacked = false,
                                                  horizontal = false, max } = {}) {
  const colored = datasets.map((d, i) => ({
    borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length],
    borderWidth: 2, pointRadius: 0, tension: 0.2, ...d }));
  const valueAxis = { beginAtZero: true, stacked, max,
                      title: { display: Boolean(yTitle), text: yTitle } };
  const labelAxis = { stacked, title: { display: Boolean(xTitle), text: xTitle },
                      ticks: { autoSkip: true, maxRotation: 0 } };
  const made = new window.Chart(canvas, {
    type, data: { labels, datasets: colored },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      indexAxis: horizontal ? "y" : "x",
      interaction: { mode: "nearest", intersect: false },
      plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
      scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
    },
  });
  charts.push(made);
  return made;
}

function levelsIn(rows) { return [...new Set(rows.map((r) => r.level))].filter((l) => l !== "all"); }

function periods(rows) { return [...new Set(rows.map((r) => r.period_start))].sort(); }

function series(rows, levels, key, scale = 1) {
  const labels = periods(rows);
  return {
    labels,
    datasets: levels.map((level) => {
      const byPeriod = new Map(rows.filter((r) => r.level === level)
        .map((r) => [r.period_start, r[key]]));
      return { label: level === "all" ? t("All levels") : levelName(level),
               data: labels.map((p) => (byPeriod.has(p) && byPeriod.get(p) !== null
                 ? round1(byPeriod.get(p) * scale) : null)) };
    }),
  };
}

// Sections -----------------------------------------------------------------------------

function zeroOverTime(data, p) {
  const totals = groupSum(data.rows, "level", "hours_at_zero");
  const top = [...totals.entries()].filter(([, h]) => h > 0).sort((a, b) => b[1] - a[1])
    .slice(0, 3).map(([l]) => l);
  const s = series(data.rows, top, "hours_at_zero");
  const box = section("zero-time", t("Hours with no bed available, over time"),
    t("For each level of care, the hours in each period when not one bed or slot of that level "
    + "was available anywhere in the system: the three levels that ran out most (every level "
    + "is in the table and the CSV)."),
    "zero_hours", p, table(data, ["period_start", "level", "hours_at_zero"]));
  chart(box.canvas, "line", s.labels, s.datasets, { yTitle: t("Hours at zero"), xTitle: t("Period") });
  box.describe(top.length ? t("Line chart; {level} ran out most.", { level: levelName(top[0]) })
    : t("Line chart; no level ran out in this range."));
}

function zeroByLevel(data, p) {
  const totals = [...groupSum(data.rows, "level", "hours_at_zero").entries()]
    .sort((a, b) => b[1] - a[1]);
  const rows = totals.map(([level, hours]) => ({ level, hours_at_zero: round1(hours) }));
  const box = section("zero-levels", t("Which levels of care ran out most"),
    t("Total hours with no bed or slot available, by level of care, over the whole range."),
    "zero_hours", p, table({ columns: ["level", "hours_at_zero"], rows },
      ["level", "hours_at_zero"]));
  chart(box.canvas, "bar", rows.map((r) => levelName(r.level)),
    [{ label: t("Hours at zero"), data: rows.map((r) => r.hours_at_zero) }],
    { yTitle: t("Hours at zero"), horizontal: true });
  box.describe(rows.length ? t("Bar chart; most: {level}, {hours} hours.",
    { level: levelName(rows[0].level), hours: t.number(rows[0].hours_at_zero) }) : t("Bar chart; no data."));
}

const narrow = window.matchMedia("(max-width: 40rem)");

function heatMap(data, p) {
  const box = section("zero-heat", t("When in the day each level runs out"),
    t("Hours with no bed available, by level of care and hour of the day ({zone}), summed over "
    + "the range. Darker cells: more hours at zero. On a narrow screen, hours come in blocks "
    + "of three.", { zone: tz }), "zero_by_hour", p, null, { canvas: false });
  const draw = () => box.figure.replaceChildren(heatTable(data.rows, narrow.matches ? 3 : 1));
  draw();
  narrow.onchange = draw;
}

function occupancyOverTime(data, p) {
  // Small multiples: one small chart per level on the same 0-100 % scale, instead of a
  // dozen lines in one band; "All levels" first, then the fullest levels.
  const mean = (level) => {
    const values = data.rows.filter((r) => r.level === level && r.occupancy !== null);
    return values.length ? sum(values, "occupancy") / values.length : 0;
  };
  const levels = ["all", ...levelsIn(data.rows).sort((a, b) => mean(b) - mean(a))];
  const box = section("occupancy", t("Occupancy over time, level by level"),
    t("Share of beds and slots taken (1 − available ÷ capacity, weighted by time), one small "
    + "chart per level on the same scale, fullest first."),
    "occupancy", p, table(data, ["period_start", "level", "occupancy", "available_bed_hours",
      "capacity_bed_hours"]), { canvas: false });
  if (!data.rows.length) {
    box.figure.append(el("p", { class: "muted", text: t("No occupancy recorded in this range.") }));
    return;
  }
  const grid = el("div", { class: "multiples" });
  box.figure.append(grid);
  for (const level of levels) {
    const s = series(data.rows, [level], "occupancy", 100);
    const name = level === "all" ? t("All levels") : levelName(level);
    const last = s.datasets[0].data.filter((v) => v !== null).at(-1);
    const canvas = el("canvas", { role: "img", "aria-label": t("Occupancy of {name} per period", { name })
      + (last === undefined ? "" : "; " + t("last period {share}", { share: `${last}%` })) });
    grid.append(el("figure", { class: "multiple" },
      el("figcaption", { text: `${name}${last === undefined ? "" : ` · ${Math.round(last)}%`}` }),
      el("div", { class: "mini-box" }, canvas)));
    const made = chart(canvas, "line", s.labels, s.datasets, { max: 100 });
    made.options.scales.x.ticks.display = false;
    made.options.scales.x.grid = { display: false };
    made.options.scales.y.ticks.maxTicksLimit = 3;
    made.options.plugins.tooltip = { enabled: true };
    made.update();
  }
}

function lapses(data, p) {
  const lapsed = [...groupSum(data.rows, "to_level", "lapsed").entries()]
    .filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const whileFull = groupSum(data.rows, "to_level", "lapsed_while_to_level_full");
  const box = section("lapses", t("Transitions that lapsed, by the level they needed next"),
    t("Clients discharged with no placement, by the expected next level of care (the first "
    + "step on their care pathway), and how many lapsed while that level had no bed."),
    "transitions", p, table(data, ["from_level", "to_level", "registered", "placed",
      "lapsed", "lapsed_while_to_level_full", "median_hours_to_placement"]));
  chart(box.canvas, "bar", lapsed.map(([l]) => levelName(l || "none")), [
    { label: t("Lapsed"), data: lapsed.map(([, n]) => n) },
    { label: t("Lapsed while that level was full"), data: lapsed.map(([l]) => whileFull.get(l) || 0) },
  ], { yTitle: t("Transitions"), horizontal: true });
  box.describe(t("Bar chart; {lapsed} lapsed of {registered} transitions registered.",
    { lapsed: t.number(sum(data.rows, "lapsed")), registered: t.number(sum(data.rows, "registered")) }));
}

function holdsChart(data, p) {
  const rows = data.rows.filter((r) => r.level !== "all");
  const box = section("holds", t("What became of holds"),
    t("Holds by level of care: admitted, released, or expired unused; the table adds the share "
    + "admitted and the median minutes from hold to admission."), "holds", p,
    table(data, ["level", "holds", "admitted", "released", "expired_unused",
      "share_admitted", "median_minutes_to_admission"]));
  chart(box.canvas, "bar", rows.map((r) => levelName(r.level)), [
    { label: t("Admitted"), data: rows.map((r) => r.admitted) },
    { label: t("Released"), data: rows.map((r) => r.released) },
    { label: t("Expired unused"), data: rows.map((r) => r.expired_unused) },
  ], { yTitle: t("Holds"), stacked: true, horizontal: true });
  box.describe(t("Stacked bar chart of hold outcomes by level of care."));
}

function caseloadChart(data, p) {
  const labels = data.rows.map((r) => r.period_start);
  const box = section("caseloads", t("Navigator caseloads against the balanced load"),
    t("Open transitions per navigator: the mean and the largest of each navigator's peak in "
    + "the period, against the configured balanced caseload."), "caseloads", p,
    table(data, ["period_start", "navigators", "mean_open", "max_open",
      "navigators_over_limit", "balanced_load"]));
  chart(box.canvas, "line", labels, [
    { label: t("Mean open"), data: data.rows.map((r) => r.mean_open) },
    { label: t("Largest open"), data: data.rows.map((r) => r.max_open) },
    { label: t("Balanced load"), data: data.rows.map((r) => r.balanced_load), borderDash: [6, 4] },
  ], { yTitle: t("Open transitions"), xTitle: t("Period") });
  box.describe(t("Line chart of caseloads per period with the balanced load."));
}

function referralsChart(data, p) {
  const rows = data.rows.filter((r) => r.level !== "all");
  const box = section("referrals", t("Referrals acknowledged within 30 minutes"),
    t("Share of referrals a program acknowledged within 30 minutes of sending, by level of "
    + "care; the table adds acceptances, declines and time to acceptance."), "referrals", p,
    table(data, ["level", "sent", "share_acknowledged_within_30_min", "accepted", "declined",
      "expired", "median_minutes_to_acceptance"]));
  chart(box.canvas, "bar", rows.map((r) => levelName(r.level)),
    [{ label: t("Acknowledged within 30 min (%)"),
       data: rows.map((r) => (r.share_acknowledged_within_30_min ?? 0) * 100) }],
    { yTitle: "% of referrals", horizontal: true, max: 100 });
  box.describe(t("Bar chart of quick acknowledgements by level."));
}

function declinesChart(data, p) {
  const box = section("declines", t("Why referrals were declined"), t("Declined referrals by reason."),
    "declines", p, table(data, ["reason", "declines", "share"]));
  chart(box.canvas, "bar", data.rows.map((r) => r.reason.replaceAll("_", " ")),
    [{ label: t("Declines"), data: data.rows.map((r) => r.declines) }],
    { yTitle: t("Declines"), horizontal: true });
  box.describe(t("Bar chart of decline reasons."));
}

function demandChart(data, p) {
  const rows = data.rows.filter((r) => r.level !== "all");
  const levels = [...new Set(rows.map((r) => r.level))];
  const pick = (kind, key) => levels.map((l) => sum(rows.filter((r) => r.level === l
    && r.kind === kind), key));
  const box = section("demand", t("Searches that found no bed"),
    t("Searches and match requests, by level of care asked for, that showed no program with "
    + "a bed. Nothing about who searched is kept."), "unmet_demand", p,
    table(data, ["level", "kind", "requests", "found_nothing", "share_found_nothing"]));
  chart(box.canvas, "bar", levels.map(levelName), [
    { label: t("Searches with no bed"), data: pick("search", "found_nothing") },
    { label: t("Match requests with no bed"), data: pick("match", "found_nothing") },
  ], { yTitle: t("Requests"), horizontal: true, stacked: true });
  box.describe(t("Bar chart of requests that found nothing, by level."));
}

function freshnessChart(data, p) {
  const top = data.rows.slice(0, 10);
  const box = section("freshness", t("Providers whose counts went stale"),
    t("Hours each program's counts were older than its promised update cadence, and the median "
    + "time between its updates (the ten stalest programs charted; all in the table)."),
    "freshness", p, table(data, ["program", "level", "updates",
      "median_minutes_between_updates", "cadence_minutes", "hours_stale"]));
  chart(box.canvas, "bar", top.map((r) => r.program),
    [{ label: t("Hours stale"), data: top.map((r) => r.hours_stale) }],
    { yTitle: t("Hours stale"), horizontal: true });
  box.describe(t("Bar chart of the stalest programs."));
}

// Outcomes and equity ----------------------------------------------------------------

const DIMENSIONS = { all: t("Everyone"), language: t("Language"), age_band: t("Age band"),
                     gender: t("Gender"), payer: t("Payer"), race_ethnicity: t("Race and ethnicity") };
const OUTCOME_COLUMNS = ["group", "transitions", "placed", "share_lapsed",
  "median_hours_ready_to_landed", "p90_hours_ready_to_landed", "step_down_completed",
  "share_returned_to_crisis"];

function outcomesSection(data, p) {
  const box = section("outcomes", t("Outcomes for the people served, by group"),
    t("Transitions registered in the range: how many landed, the share that lapsed, hours from "
    + "ready (the discharge) to landed, step-downs completed, and returns to a crisis level "
    + "within 30 days. Broken down by the coarse needs recorded; race and ethnicity only "
    + "where the county records them."), "outcomes", p, null, { canvas: false });
  const groups = Object.keys(DIMENSIONS).filter((d) => data.rows.some((r) => r.dimension === d));
  for (const dim of groups) {
    const rows = data.rows.filter((r) => r.dimension === dim);
    box.figure.append(el("div", { class: "table-scroll" },
      table({ rows }, OUTCOME_COLUMNS, { caption: DIMENSIONS[dim] })));
  }
  box.figure.append(suppressionNote(data));
}

function demandByNeed(data, p) {
  const box = section("demand-need", t("Requests that found nothing, by need"),
    t("Searches and match requests that showed no program with a bed, by the needs they named."),
    "unmet_by_need", p, null, { canvas: false });
  for (const dim of Object.keys(DIMENSIONS).filter((d) => d !== "race_ethnicity")) {
    const rows = data.rows.filter((r) => r.dimension === dim);
    if (rows.length) {
      box.figure.append(el("div", { class: "table-scroll" }, table({ rows },
        ["group", "requests", "found_nothing", "share_found_nothing"],
        { caption: DIMENSIONS[dim] })));
    }
  }
  box.figure.append(suppressionNote(data));
}

function suppressionNote(data) {
  return el("p", { class: "hint suppression-note" }, el("span", { class: "suppressed", text: "*" }),
    " " + t("Suppressed: fewer than 11 people, or a number that would let such a count be worked "
    + "out from the totals (public health small-cell rule).") + " "
    + (data.suppressed ? t("{n} cells are suppressed here.", { n: t.number(data.suppressed) })
      : t("Nothing is suppressed here.")));
}

// The short answer ---------------------------------------------------------------------

function isEmpty(zero, trans, holds, refs) {
  return !zero.rows.length && !trans.rows.length && !holds.rows.length && !refs.rows.length;
}

function gettingStarted() {
  const list = $("#answer");
  list.replaceChildren(
    el("li", { text: t("Nothing has been recorded in this range yet, so there is nothing to "
      + "measure. This page fills in as Bedfinder is used:") }),
    el("li", {}, el("strong", { text: t("Beds:") + " " }), t("add programs and their units (the admin "
      + "page, or an HSDS import), then give each provider a token to update their counts; "
      + "every update becomes history here within five minutes.")),
    el("li", {}, el("strong", { text: t("Outcomes:") + " " }), t("navigators register transitions (a "
      + "client leaving one program) on the Find a bed page; holds, referrals and placements "
      + "then show who landed, how soon, and who lapsed.")),
    el("li", {}, el("strong", { text: t("Trying it out?") + " " }), t("start the demo with a month of "
      + "simulated history:") + " ", el("code", { text: "bedfinder demo --history 30d" }), "."),
    el("li", { text: t("If you expected data, check the dates above.") }));
  $("#answer-title").textContent = t("Getting started");
}

function answer(zero, heat, trans, holds, refs) {
  const list = $("#answer");
  list.replaceChildren();
  $("#answer-title").textContent = t("In short");
  if (isEmpty(zero, trans, holds, refs)) {
    gettingStarted();
    return;
  }
  const totals = [...groupSum(zero.rows, "level", "hours_at_zero").entries()]
    .sort((a, b) => b[1] - a[1]);
  if (!totals.length || totals[0][1] === 0) {
    list.append(el("li", { text: t("No level of care ran out of beds in this range.") }));
  } else {
    const [worst, hours] = totals[0];
    list.append(el("li", {}, el("strong", { text: levelName(worst) }),
      " ", t("ran out most: {hours} hours with no bed available.", { hours: t.number(round1(hours)) })));
    const hoursOfDay = heat.rows.filter((r) => r.level === worst && r.hours_at_zero > 0)
      .sort((a, b) => b.hours_at_zero - a.hours_at_zero).slice(0, 3)
      .map((r) => `${String(r.hour_of_day).padStart(2, "0")}:00`).sort();
    if (hoursOfDay.length) {
      list.append(el("li", { text: t("It was most often full in the hours starting {hours}.", { hours: hoursOfDay.join(", ") }) }));
    }
    const lapsedFor = trans.rows.filter((r) => r.to_level === worst);
    list.append(el("li", { text: t("{lapsed} transitions needing {level} next lapsed ({whileFull} while it was full).",
      { lapsed: t.number(sum(lapsedFor, "lapsed")), level: levelName(worst),
        whileFull: t.number(sum(lapsedFor, "lapsed_while_to_level_full")) }) }));
  }
  const all = holds.rows.find((r) => r.level === "all");
  if (all && all.share_admitted !== null) list.append(el("li", { text: t("{share} of ended holds became admissions; {expired} expired unused.", { share: percent(all.share_admitted), expired: t.number(all.expired_unused) }) }));
  const ref = refs.rows.find((r) => r.level === "all");
  if (ref && ref.sent) list.append(el("li", { text: t("{share} of referrals were acknowledged within 30 minutes.", { share: percent(ref.share_acknowledged_within_30_min) }) }));
}

async function load() {
  const status = $("#status");
  status.textContent = t("Loading…");
  status.className = "msg";
  charts.splice(0).forEach((c) => c.destroy());
  $("#charts").replaceChildren();
  const p = params();
  const names = ["zero_hours", "zero_by_hour", "occupancy", "transitions", "holds",
                 "caseloads", "referrals", "declines", "unmet_demand", "freshness", "outcomes",
                 "unmet_by_need"];
  try {
    const [zero, heat, occ, trans, holds, loads, refs, decl, demand, fresh, outs, needs] =
      await Promise.all(names.map((n) => measure(n, p)));
    answer(zero, heat, trans, holds, refs);
    if (isEmpty(zero, trans, holds, refs)) {
      status.textContent = t("Nothing recorded from {from} to {to}.", {
        from: t.date(`${p.get("from")}T00:00`, { dateStyle: "medium" }),
        to: t.date(`${p.get("to")}T00:00`, { dateStyle: "medium" }) });
      document.body.dataset.loaded = "true";
      return;
    }
    outcomesSection(outs, p);
    zeroByLevel(zero, p);
    lapses(trans, p);
    heatMap(heat, p);
    zeroOverTime(zero, p);
    occupancyOverTime(occ, p);
    holdsChart(holds, p);
    caseloadChart(loads, p);
    referralsChart(refs, p);
    declinesChart(decl, p);
    demandChart(demand, p);
    demandByNeed(needs, p);
    freshnessChart(fresh, p);
    status.textContent = t("Showing {from} to {to}.", { from: t.date(`${p.get("from")}T00:00`, { dateStyle: "medium" }), to: t.date(`${p.get("to")}T00:00`, { dateStyle: "medium" }) });
    status.classList.add("ok");
    document.body.dataset.loaded = "true";
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      signIn(error.message);
      return;
    }
    status.textContent = t("Could not load the reports: {reason}", { reason: error.message });
    status.classList.add("bad");
  }
}

// Session ------------------------------------------------------------------------------

function signIn(message = "") {
  $("#app").hidden = true;
  $("#signin").hidden = false;
  $("#signout").hidden = true;
  $("#signin-error").textContent = message;
  $("#signin-token").focus();
}

async function start() {
  try {
    await api("/api/v1/reports");
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      clearToken();
      signIn(getToken() === null && !error.body ? "" : error.message);
      return;
    }
    $("#status").textContent = error.message;
  }
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#signout").hidden = false;
  await load();
}

function setup() {
  takeTokenFromAddress();
  $("#tz-name").textContent = tz;
  const level = $("#level");
  for (const [key, name] of Object.entries(config.levels || {})) {
    level.append(el("option", { value: key, text: name }));
  }
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86400000);
  $("#to").value = isoDay(today);
  $("#from").value = isoDay(monthAgo);
  $("#filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("#charts").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-csv]");
    if (button) downloadCsv(button.dataset.csv, button);
  });
  $("#signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken($("#signin-token").value);
    $("#signin-token").value = "";
    start();
  });
  $("#signout").addEventListener("click", () => { clearToken(); signIn(); });
  if (getToken()) start(); else signIn();
}

setup();
