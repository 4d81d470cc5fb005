// Pieces of the analytics page: a chart section with its table, the heat map (a real table,
// so it reads well without sight), and CSV downloads sent with the tab's token.

import { el, getToken, levelName } from "../common.js";

let counter = 0;

const HEADINGS = {
  period_start: "Period", level: "Level of care", area: "Area", hours_at_zero: "Hours at zero",
  occupancy: "Occupancy", available_bed_hours: "Available bed-hours",
  capacity_bed_hours: "Capacity bed-hours", from_level: "From level", to_level: "To level",
  registered: "Registered", placed: "Placed", lapsed: "Lapsed",
  lapsed_while_to_level_full: "Lapsed while full", median_hours_to_placement:
  "Median hours to placement", holds: "Holds", admitted: "Admitted", released: "Released",
  expired_unused: "Expired unused", share_admitted: "Share admitted",
  median_minutes_to_admission: "Median minutes to admission", navigators: "Navigators",
  mean_open: "Mean open", max_open: "Largest open", navigators_over_limit: "Over the load",
  balanced_load: "Balanced load", sent: "Sent", share_acknowledged_within_30_min:
  "Acknowledged ≤ 30 min", accepted: "Accepted", declined: "Declined", expired: "Expired",
  median_minutes_to_acceptance: "Median minutes to acceptance", reason: "Reason",
  declines: "Declines", share: "Share", kind: "Kind", requests: "Requests",
  found_nothing: "Found nothing", share_found_nothing: "Share found nothing",
  group: "Group", transitions: "Transitions", share_lapsed: "Share lapsed",
  median_hours_ready_to_landed: "Median hours ready → landed",
  p90_hours_ready_to_landed: "90th percentile hours", step_down_completed: "Stepped down",
  share_returned_to_crisis: "Back in crisis ≤ 30 days",
  program: "Program", updates: "Updates", median_minutes_between_updates:
  "Median minutes between updates", cadence_minutes: "Cadence (min)", hours_stale: "Hours stale",
};

const SHARES = new Set(["occupancy", "share_admitted", "share_acknowledged_within_30_min",
                        "share", "share_found_nothing", "share_lapsed",
                        "share_returned_to_crisis"]);
const SUPPRESSED = "suppressed";

function cell(column, value) {
  if (value === null || value === undefined) return "–";
  if (value === SUPPRESSED) return "*";
  if (column === "group") return value.replaceAll("_", " ");
  if (SHARES.has(column)) return `${Math.round(value * 1000) / 10}%`;
  if (column === "level" || column === "from_level" || column === "to_level") {
    return value ? (value === "all" ? "All levels" : levelName(value)) : "none";
  }
  return String(value);
}

/** One cell: a suppressed one says so to screen readers, not just with its mark. */
function td(column, value, first) {
  const attrs = { text: cell(column, value) };
  if (value === SUPPRESSED) {
    Object.assign(attrs, { class: "suppressed", title: "Suppressed (fewer than 11 people)",
                           "aria-label": "suppressed" });
  }
  return el(first ? "th" : "td", first ? { ...attrs, scope: "row" } : attrs);
}

/** A data table of `columns` from a measure's rows. */
export function table(data, columns, { caption } = {}) {
  return el("table", { class: "data" },
    caption ? el("caption", { text: caption }) : [],
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", text: HEADINGS[c] || c })))),
    el("tbody", {}, data.rows.length
      ? data.rows.map((r) => el("tr", {}, columns.map((c, i) => td(c, r[c], i === 0))))
      : el("tr", {}, el("td", { colspan: columns.length, text: "No data in this range." }))));
}

/** A titled section with a chart canvas, a short description, its table and a CSV button. */
export function section(id, title, text, measureName, params, dataTable, { canvas = true } = {}) {
  counter += 1;
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const figure = el("div", { class: "figure" });
  const box = { figure, canvas: null, describe: (words) => box.canvas?.setAttribute("aria-label", `${title}. ${words}`) };
  if (canvas) {
    box.canvas = el("canvas", { role: "img", "aria-label": title, "aria-describedby": descId });
    figure.append(el("div", { class: "chart-box" }, box.canvas));
  }
  const children = [
    el("h2", { id: titleId, text: title }),
    el("p", { id: descId, class: "hint", text }),
    figure,
  ];
  if (dataTable) {
    children.push(el("details", { class: "table-view" },
      el("summary", { text: `Table: ${title}` }), el("div", { class: "table-scroll" }, dataTable)));
  }
  children.push(el("p", { class: "csv" }, el("button", {
    type: "button", class: "link-button", dataset: { csv: `/api/v1/reports/${measureName}.csv?${params}` },
    text: `Download CSV (${measureName})`,
  })));
  document.getElementById("charts").append(
    el("section", { id, class: "panel chart", "aria-labelledby": titleId }, children));
  return box;
}

/** Levels × hours of day (or blocks of `step` hours, for a phone); each cell's shade comes
 * from a class, its number is its text. */
export function heatTable(rows, step = 1) {
  const levels = [...new Set(rows.map((r) => r.level))];
  const value = new Map();
  for (const r of rows) {
    const key = `${r.level}|${r.hour_of_day - (r.hour_of_day % step)}`;
    value.set(key, (value.get(key) || 0) + (r.hours_at_zero || 0));
  }
  const peak = Math.max(0, ...value.values());
  const hours = [...Array(24 / step).keys()].map((i) => i * step);
  const hh = (h) => String(h).padStart(2, "0");
  const label = (h) => (step === 1 ? hh(h) : `${hh(h)}–${hh(h + step - 1)}`);
  const shade = (h) => (!h || !peak ? 0 : Math.min(5, Math.ceil((h / peak) * 5)));
  if (!levels.length) return el("p", { class: "muted", text: "No data in this range." });
  return el("div", { class: "table-scroll" }, el("table", { class: `heat${step > 1 ? " blocks" : ""}` },
    el("caption", { text: step === 1
      ? "Hours at zero by level of care (rows) and hour of the day (columns)"
      : `Hours at zero by level of care (rows) and ${step}-hour block of the day (columns)` }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Level of care" }),
      hours.map((h) => el("th", { scope: "col", text: label(h),
                                   title: `${hh(h)}:00–${hh(h + step - 1)}:59` })))),
    el("tbody", {}, levels.map((level) => el("tr", {},
      el("th", { scope: "row", text: levelName(level) }),
      hours.map((h) => {
        const v = value.get(`${level}|${h}`) || 0;
        return el("td", { class: `heat-${shade(v)}`, text: v ? String(Math.round(v)) : "0" });
      }))))));
}

/** Fetch a CSV with the tab's token and save it (a plain link could not send the token). */
export async function downloadCsv(url, button) {
  const original = button.textContent;
  button.textContent = "Downloading…";
  try {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${getToken()}` } });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const blob = await response.blob();
    const link = el("a", { href: URL.createObjectURL(blob),
                           download: url.split("/").pop().split("?")[0] });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    button.textContent = original;
  } catch (error) {
    button.textContent = `${original}: failed (${error.message})`;
  }
}
