// The page's words in its language. The server embeds this page's catalog (only its own
// language, from web/translations/<lang>/LC_MESSAGES/js.po) as JSON in <html data-i18n>
// (an attribute, not an inline script, so the strict CSP holds); this classic
// script runs before the page's modules and defines:
//   t("Text with {name}", {name: value})        the translation, placeholders filled
//   t.n("{count} bed", "{count} beds", n, {...})  plural forms; {count} is n, formatted
//   t.number(n), t.date(value, options), t.time(value), t.relative(value)  via Intl
//   t.lang                                       the page's language (BCP 47)
// Strings are extracted by `bench/i18n.sh update` (pybabel, keywords t and t.n): pass t() a
// literal string, never a variable or a template literal, or the extractor cannot see it.
(function () {
  "use strict";
  const FALLBACK = { lang: "en", plurals: ["one", "other"], messages: {} };
  const catalogs = {};

  function read() {
    try {
      return JSON.parse(document.documentElement.dataset.i18n || "null") || FALLBACK;
    } catch (error) {
      return FALLBACK;
    }
  }

  const embedded = read();
  // A page may carry several catalogs (the wall display's rotation): {lang, catalogs: {...}}.
  if (embedded.catalogs) Object.assign(catalogs, embedded.catalogs);
  else catalogs[embedded.lang || "en"] = embedded;
  let current = embedded.lang || "en";

  const catalog = () => catalogs[current] || FALLBACK;

  function fill(text, params) {
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
  }

  function t(text, params) {
    const found = catalog().messages[text];
    return fill(typeof found === "string" && found ? found : text, params);
  }

  // gettext's plural form from Intl's category: the server lists the language's categories
  // in the order of its forms (zh, vi: ["other"]; es: ["one", "many", "other"]).
  function pluralIndex(n) {
    const categories = catalog().plurals || FALLBACK.plurals;
    const index = categories.indexOf(new Intl.PluralRules(current).select(n));
    return index < 0 ? categories.length - 1 : index;
  }

  t.n = function (singular, plural, n, params) {
    const found = catalog().messages[singular];
    const values = { count: t.number(n), ...(params || {}) };
    if (Array.isArray(found) && found.length) {
      return fill(found[Math.min(pluralIndex(n), found.length - 1)] || singular, values);
    }
    return fill(n === 1 ? singular : plural, values);
  };

  const asDate = (value) => (value instanceof Date ? value : new Date(value));

  t.number = (n, options) => new Intl.NumberFormat(current, options).format(n);
  t.date = (value, options) =>
    new Intl.DateTimeFormat(current, options || { dateStyle: "medium", timeStyle: "short" })
      .format(asDate(value));
  t.time = (value) =>
    new Intl.DateTimeFormat(current, { hour: "numeric", minute: "2-digit" }).format(asDate(value));

  // "5 minutes ago", "in 2 hours": the largest unit that fits, in the page's language.
  t.relative = function (value, now) {
    const seconds = (asDate(value).getTime() - (now === undefined ? Date.now() : now)) / 1000;
    const format = new Intl.RelativeTimeFormat(current, { numeric: "auto" });
    const steps = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600],
                   ["minute", 60]];
    for (const [unit, size] of steps) {
      if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
    }
    return format.format(0, "minute");
  };

  // The wall display rotates through the languages it was given.
  t.use = function (lang) {
    if (catalogs[lang] || lang === "en") current = lang;
    document.documentElement.lang = current;
    return current;
  };
  t.languages = () => Object.keys(catalogs);
  Object.defineProperty(t, "lang", { get: () => current });

  window.t = t;
})();
