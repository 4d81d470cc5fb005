// Admin: the directory, people and their roles, tokens, feed sources. Every change goes
// through the same REST API (and so the same checks and audit) as any other client.
import { $, api, config, el, levelName, signIn } from "./common.js";

const say = (text) => { $("#admin-error").textContent = ""; $("#admin-msg").textContent = text; };
const fail = (error) => { $("#admin-msg").textContent = ""; $("#admin-error").textContent = error.message; };
const ROLES = ["", "admin", "provider", "navigator", "display", "analyst", "supervisor"];
let orgs = [];

function options(select, items, blank) {
  select.replaceChildren(...(blank ? [el("option", { value: "", text: blank })] : []),
    ...items.map(([value, text]) => el("option", { value, text })));
}

async function loadOrgs() {
  orgs = await api("/api/v1/organizations");
  $("#orgs").replaceChildren(...orgs.map((o) => el("li", { text: `${o.name} (${o.id})` })));
  const pairs = orgs.map((o) => [o.id, o.name]);
  options($("#program-org"), pairs);
  options($("#token-org"), pairs, "None");
}

async function loadPrograms() {
  const found = await api("/api/v1/programs?limit=1000");
  const programs = found.programs.sort((a, b) => a.name.localeCompare(b.name));
  $("#programs").replaceChildren(...programs.map((p) => el("li", {},
    el("strong", { text: p.name }),
    ` · ${levelName(p.level_of_care)} · ${p.genders.join(", ")}, ${t("ages {min}–{max}", { min: p.age_min, max: p.age_max })} · `,
    p.units.length ? p.units.map((u) => (u.kind === "slot" ? t("{unit} ({n} slots)", { unit: u.label, n: t.number(u.capacity) })
      : t("{unit} ({n} beds)", { unit: u.label, n: t.number(u.capacity) }))).join(", ") : t("no units yet"))));
  options($("#unit-program"), programs.map((p) => [p.id, p.name]));
}

function personRow(person) {
  const role = el("select", { "aria-label": t("Role for {person}", { person: person.display_name }) });
  options(role, ROLES.map((r) => [r, r || t("none")]));
  role.value = person.role || "";
  const org = el("select", { "aria-label": t("Organization for {person}", { person: person.display_name }) });
  options(org, orgs.map((o) => [o.id, o.name]), t("None"));
  org.value = person.organization_id || "";
  const save = async () => {
    const body = { role: role.value || null };
    if (org.value) body.organization_id = org.value;
    try { await api(`/api/v1/users/${encodeURIComponent(person.id)}`, { method: "PATCH", json: body }); say(t("Saved {person}.", { person: person.display_name })); } catch (e) { fail(e); }
  };
  const toggle = async () => {
    try {
      await api(`/api/v1/users/${encodeURIComponent(person.id)}`, { method: "PATCH", json: { disabled: !person.disabled } });
      say(person.disabled ? t("{person}: access restored.", { person: person.display_name })
        : t("{person}: access turned off.", { person: person.display_name }));
      await loadPeople();
    } catch (e) { fail(e); }
  };
  return el("li", {}, el("strong", { text: person.display_name }), ` ${person.email || ""} `,
    role, org,
    el("button", { type: "button", class: "secondary small", text: t("Save"), "aria-label": t("Save role for {person}", { person: person.display_name }), onclick: save }),
    el("button", { type: "button", class: "secondary small", text: person.disabled ? t("Restore access") : t("Turn off access"),
                   "aria-label": person.disabled ? t("Restore access for {person}", { person: person.display_name })
                     : t("Turn off access for {person}", { person: person.display_name }), onclick: toggle }));
}

async function loadPeople() {
  const people = await api("/api/v1/users");
  $("#people-empty").hidden = people.length > 0;
  $("#people").replaceChildren(...people.map(personRow));
}

async function loadTokens() {
  const tokens = await api("/api/v1/tokens");
  $("#tokens").replaceChildren(...tokens.map((token) => {
    const state = token.revoked_at ? t("revoked") : token.expires_at && Date.parse(token.expires_at) < Date.now() ? t("expired")
      : token.expires_at ? t("expires {date}", { date: t.date(token.expires_at, { dateStyle: "medium" }) }) : t("no expiry");
    return el("li", { dataset: { token: token.id } },
      el("strong", { text: token.label }), ` · ${token.role} · ${t("owner {owner}", { owner: token.owner || t("unknown") })} · ${state} `,
      token.revoked_at ? null : el("button", { type: "button", class: "secondary small", text: t("Revoke"),
        "aria-label": t("Revoke token {label}", { label: token.label }), onclick: () => revoke(token) }));
  }));
}

async function revoke(token) {
  try {
    await api(`/api/v1/tokens/${encodeURIComponent(token.id)}`, { method: "DELETE" });
    say(t("Token {label} revoked: it stops working everywhere now.", { label: token.label }));
    await loadTokens();
  } catch (e) { fail(e); }
}

async function loadFeeds() {
  let feeds = [];
  try { feeds = (await api("/api/v1/feeds")).feeds || []; } catch { feeds = []; }
  $("#feeds").replaceChildren(...(feeds.length ? feeds.map((f) => el("li", { text: `${f.name} (${f.kind})` }))
    : [el("li", { class: "muted", text: t("No polling feeds are configured.") })]));
}

function submit(form, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await handler(new FormData(form)); form.reset(); } catch (e) { fail(e); }
  });
}

async function start() {
  await signIn({ roles: ["admin"] });
  $("#conn")?.setAttribute("hidden", "");  // this page follows no live feed
  options($("#program-level"), Object.keys(config.levels || {}).map((k) => [k, levelName(k)]));
  submit($("#org-form"), async (data) => {
    const org = await api("/api/v1/organizations", { method: "POST", json: { name: data.get("name") } });
    say(t("Organization {name} added.", { name: org.name }));
    await loadOrgs();
  });
  submit($("#program-form"), async (data) => {
    const program = await api("/api/v1/programs", { method: "POST", json: {
      organization_id: data.get("organization_id"), name: data.get("name"),
      level_of_care: data.get("level_of_care"), genders: data.getAll("genders"),
      age_min: Number(data.get("age_min")), age_max: Number(data.get("age_max")) } });
    say(t("Program {name} added.", { name: program.name }));
    await loadPrograms();
  });
  submit($("#unit-form"), async (data) => {
    const programId = data.get("program_id");
    const unit = await api(`/api/v1/programs/${encodeURIComponent(programId)}/units`, { method: "POST", json: {
      label: data.get("label"), kind: data.get("kind"), capacity: Number(data.get("capacity")) } });
    say(t("Unit {label} added.", { label: unit.label }));
    await loadPrograms();
    $("#unit-program").value = programId;
  });
  submit($("#token-form"), async (data) => {
    const body = { role: data.get("role"), label: data.get("label") || data.get("role"),
                   expires_in_minutes: Number(data.get("days")) * 24 * 60 };
    if (body.role === "provider") body.organization_id = data.get("organization_id");
    const made = await api("/api/v1/tokens", { method: "POST", json: body });
    $("#token-new").replaceChildren(t("New {role} token “{label}” (shown once, copy it now): ", { role: made.role, label: made.label }),
      el("code", { id: "token-secret", text: made.token }));
    await loadTokens();
  });
  await loadOrgs();
  await Promise.all([loadPrograms(), loadPeople(), loadTokens(), loadFeeds()]);
}

start();
