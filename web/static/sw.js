// Bedfinder's service worker: shows alert notifications pushed by the server (web/push.py)
// and opens the transition when one is clicked. Served at /sw.js so its scope is the site.
// The payload carries only the generated title, one sentence, the client's opaque reference
// and a link (inventory/alerts.py).

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let alert = {};
  try { alert = event.data ? event.data.json() : {}; } catch { alert = {}; }
  const title = alert.title || "Bedfinder";
  event.waitUntil(self.registration.showNotification(title, {
    body: alert.body || "",
    tag: alert.tag || "bedfinder-alert",
    data: { url: alert.url || "/" },
    icon: "/static/favicon.svg",
    requireInteraction: true,
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/",
                         self.location.origin);
  if (target.origin !== self.location.origin) return; // only ever open this site
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of open) {
      if (new URL(client.url).origin === target.origin && "focus" in client) {
        await client.focus();
        if ("navigate" in client) await client.navigate(target.href);
        return;
      }
    }
    await self.clients.openWindow(target.href);
  })());
});
