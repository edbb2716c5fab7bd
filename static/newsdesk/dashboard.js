/* Dashboard: apply filters and load older articles without a page reload.
 *
 * Progressive enhancement only. The server renders every state, the form
 * submits with GET and the pager is a link, so everything works without
 * this file. With it, the same URLs are fetched with an
 * "X-Newsdesk-Partial" header and only the results block is swapped; the
 * address bar keeps the shareable URL. Served from 'self': the CSP allows
 * no inline script.
 */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var results = document.getElementById("results");
  if (!form || !results || !window.fetch || !window.URLSearchParams || !window.AbortController) {
    return;
  }
  var controller = null;
  var typingTimer = null;

  function formQuery() {
    // Empty fields and defaults stay out of the URL, as the server's canonical links do.
    var query = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (field) {
      var value = typeof field.value === "string" ? field.value.trim() : "";
      if (!field.name || field.disabled || value === "" || value === field.getAttribute("data-default")) {
        return;
      }
      query.append(field.name, value);
    });
    return query.toString();
  }

  function fetchPartial(url, mode) {
    if (controller) {
      controller.abort();
    }
    controller = new AbortController();
    results.setAttribute("aria-busy", "true");
    return fetch(url, {
      headers: { "X-Newsdesk-Partial": mode },
      credentials: "same-origin",
      signal: controller.signal
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    }).finally(function () {
      results.removeAttribute("aria-busy");
    });
  }

  function fallBack(url) {
    return function (error) {
      if (error && error.name === "AbortError") {
        return;
      }
      window.location.assign(url); // let the server render it the plain way
    };
  }

  function showResults(url, history_mode) {
    fetchPartial(url, "results").then(function (html) {
      results.innerHTML = html;
      if (history_mode === "push") {
        window.history.pushState({ newsdesk: true }, "", url);
      } else if (history_mode === "replace") {
        window.history.replaceState({ newsdesk: true }, "", url);
      }
    }).catch(fallBack(url));
  }

  function apply(history_mode) {
    var query = formQuery();
    var url = form.getAttribute("action") + (query ? "?" + query : "");
    showResults(url, history_mode);
  }

  function loadMore(link) {
    var url = link.href;
    link.setAttribute("aria-disabled", "true");
    fetchPartial(url, "more").then(function (html) {
      var holder = document.createElement("template");
      holder.innerHTML = html;
      var cards = document.getElementById("cards");
      var fresh = holder.content.querySelectorAll(".card");
      var first = fresh.length ? fresh[0] : null;
      fresh.forEach(function (card) { cards.appendChild(card); });
      var oldPager = results.querySelector(".pager");
      var newPager = holder.content.querySelector(".pager");
      if (oldPager) {
        oldPager.remove();
      }
      if (newPager) {
        results.appendChild(newPager);
      }
      if (first) {
        first.focus(); // keyboard users continue where the new cards begin
      }
    }).catch(fallBack(url));
  }

  function syncForm() {
    var query = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name) {
        field.value = query.get(field.name) || "";
      }
    });
    var sort = form.elements.namedItem("sort");
    if (sort && !sort.value) {
      sort.value = "newest";
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(typingTimer);
    apply("push");
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "q") {
      return; // handled as the user types, below
    }
    apply("push");
  });
  var search = form.elements.namedItem("q");
  if (search) {
    search.addEventListener("input", function () {
      window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(function () { apply("replace"); }, 350);
    });
  }
  results.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-more]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    event.preventDefault();
    loadMore(link);
  });
  window.addEventListener("popstate", function () {
    syncForm();
    showResults(window.location.href, null);
  });
  document.documentElement.classList.add("js");
})();
