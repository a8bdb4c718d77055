"""The browser adapter: server-rendered pages for guardians (mobile, under /m/) and for staff
(the console, under /console/). Templates are translated with the same gettext catalogs as the
bot; every asset is served from here (no CDN, no external font: pages must load on a slow rural
connection inside China and in WeChat's in-app browser)."""
