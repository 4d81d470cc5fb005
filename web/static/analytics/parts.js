// Pieces of the analytics page: a chart section with its table, the heat map (a real table,
// so it reads well without sight), and CSV downloads sent with the tab's token.

import { el, getToken, levelName } from "../common.js";

let counter = 0;

const HEADINGS = {
  period_start: t("Period"), level: t("Level of care"), area: t("Area"), hours_at_zero: t("Hours at zero"),
  occupancy: t("Occupancy"), available_bed_hours: t("Available bed-hours"),
  capacity_bed_hours: t("Capacity bed-hours"), from_level: t("From level"), to_level: t("To level"),
  registered: t("Registered"), placed: t("Placed"), lapsed: t("Lapsed"),
  lapsed_while_to_level_full: t("Lapsed while full"), median_hours_to_placement:
  t("Median hours to placement"), holds: t("Holds"), admitted: t("Admitted"), released: t("Released"),
  expired_unused: t("Expired unused"), share_admitted: t("Share admitted"),
  median_minutes_to_admission: t("Median minutes to admission"), navigators: t("Navigators"),
  mean_open: t("Mean open"), max_open: t("Largest open"), navigators_over_limit: t("Over the load"),
  balanced_load: t("Balanced load"), sent: t("Sent"), share_acknowledged_within_30_min:
  t("Acknowledged ≤ 30 min"), accepted: t("Accepted"), declined: t("Declined"), expired: t("Expired"),
  median_minutes_to_acceptance: t("Median minutes to acceptance"), reason: t("Reason"),
  declines: t("Declines"), share: t("Share"), kind: t("Kind"), requests: t("Requests"),
  found_nothing: t("Found nothing"), share_found_nothing: t("Share found nothing"),
  program: t("Program"), updates: t("Updates"), median_minutes_between_updates:
  t("Median minutes between updates"), cadence_minutes: t("Cadence (min)"), hours_stale: t("Hours stale"),
  group: t("Group"), transitions: t("Transitions"), share_lapsed: t("Share lapsed"),
  median_hours_ready_to_landed: t("Median hours ready → landed"),
  p90_hours_ready_to_landed: t("90th percentile hours"), step_down_completed: t("Stepped down"),
  share_returned_to_crisis: t("Back in crisis ≤ 30 days"),
};

const SHARES = new Set(["occupancy", "share_admitted", "share_acknowledged_within_30_min",
                        "share", "share_found_nothing", "share_lapsed",
                        "share_returned_to_crisis"]);
const SUPPRESSED = "suppressed";
// The outcome and demand tables' groups are codes (inventory/outcomes.py): their words here,
// languages named by Intl in the page's language, age bands ("30-39") as they are.
const GROUP_WORDS = {
  all: t("Everyone"), not_recorded: t("Not recorded"), multiple: t("Two or more"),
  female: t("Women"), male: t("Men"), nonbinary: t("Nonbinary"),
  "medi-cal": t("Medi-Cal"), medicare: t("Medicare"), private: t("Private"),
  uninsured: t("Uninsured"), county: t("County"), va: t("VA"),
  american_indian_or_alaska_native: t("American Indian or Alaska Native"), asian: t("Asian"),
  black_or_african_american: t("Black or African American"),
  hispanic_or_latino: t("Hispanic or Latino"),
  middle_eastern_or_north_african: t("Middle Eastern or North African"),
  native_hawaiian_or_pacific_islander: t("Native Hawaiian or Pacific Islander"), white: t("White"),
};

function groupName(value, dimension) {
  if (Object.hasOwn(GROUP_WORDS, value)) return GROUP_WORDS[value];
  if (dimension === "language") {
    try { return new Intl.DisplayNames([t.lang], { type: "language" }).of(value) || value; } catch { /* not a code */ }
  }
  return value.replaceAll("_", " ");
}

function cell(column, value, row) {
  if (value === null || value === undefined) return "–";
  if (value === SUPPRESSED) return "*";
  if (column === "group") return groupName(value, row.dimension);
  if (SHARES.has(column)) return t.number(value, { style: "percent", maximumFractionDigits: 1 });
  if (column === "level" || column === "from_level" || column === "to_level") {
    return value ? (value === "all" ? t("All levels") : levelName(value)) : t("none");
  }
  return typeof value === "number" ? t.number(value) : String(value);
}

/** One cell: a suppressed one says so to screen readers, not just with its mark. */
function td(column, value, first, row) {
  const attrs = { text: cell(column, value, row) };
  if (value === SUPPRESSED) {
    Object.assign(attrs, { class: "suppressed", title: t("Suppressed (fewer than 11 people)"),
                           "aria-label": t("suppressed") });
  }
  return el(first ? "th" : "td", first ? { ...attrs, scope: "row" } : attrs);
}

/** A data table of `columns` from a measure's rows. */
export function table(data, columns, { caption } = {}) {
  return el("table", { class: "data" },
    caption ? el("caption", { text: caption }) : [],
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", text: HEADINGS[c] || c })))),
    el("tbody", {}, data.rows.length
      ? data.rows.map((r) => el("tr", {}, columns.map((c, i) => td(c, r[c], i === 0, r))))
      : el("tr", {}, el("td", { colspan: columns.length, text: t("No data in this range.") }))));
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
      el("summary", { text: t("Table: {title}", { title }) }), el("div", { class: "table-scroll" }, dataTable)));
  }
  children.push(el("p", { class: "csv" }, el("button", {
    type: "button", class: "link-button", dataset: { csv: `/api/v1/reports/${measureName}.csv?${params}` },
    text: t("Download CSV ({measure})", { measure: measureName }),
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
  if (!levels.length) return el("p", { class: "muted", text: t("No data in this range.") });
  return el("div", { class: "table-scroll" }, el("table", { class: `heat${step > 1 ? " blocks" : ""}` },
    el("caption", { text: step === 1
      ? t("Hours at zero by level of care (rows) and hour of the day (columns)")
      : t("Hours at zero by level of care (rows) and {step}-hour block of the day (columns)", { step }) }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t("Level of care") }),
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
  button.textContent = t("Downloading…");
  try {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${getToken()}` } });
    if (!response.ok) throw new Error(t("the server answered {status}", { status: response.status }));
    const blob = await response.blob();
    const link = el("a", { href: URL.createObjectURL(blob),
                           download: url.split("/").pop().split("?")[0] });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    button.textContent = original;
  } catch (error) {
    button.textContent = t("{action}: failed ({reason})", { action: original, reason: error.message });
  }
}
