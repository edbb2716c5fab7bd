// Saved views: the dashboard may change its filters without reloading (the
// URL follows), so take the query to save from the address bar at submit
// time. Without JavaScript the server-rendered value is already current.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.classList || !form.classList.contains("desk-save")) return;
  form.elements.query.value = window.location.search.replace(/^\?/, "");
  form.elements.next.value = window.location.pathname + window.location.search;
});
