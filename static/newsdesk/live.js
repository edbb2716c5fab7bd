/* Live dashboard: "N new articles — show", without a reload and without losing the scroll position.
 *
 * Progressive enhancement: without this file the page is what the server
 * rendered. With it, every data-seconds the page asks /live/ (one Redis read
 * when nothing changed) whether articles matching its filters arrived after
 * the newest one it knew. "Show" fetches just those cards (the dashboard's
 * "new" partial) and puts them on top; if the reader had scrolled down, the
 * page scrolls by what was added, so what they were reading stays put.
 * The polls stop while the tab is hidden and back off after errors.
 */
(function () {
  "use strict";
  var results = document.getElementById("results");
  if (!results || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var timer = null;
  var failures = 0;
  var pending = 0;

  function box() { return document.getElementById("live"); }

  function seconds() {
    var el = box();
    var value = el ? parseInt(el.getAttribute("data-seconds"), 10) : 30;
    return value > 0 ? value : 0;
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    if (delay > 0) {
      timer = window.setTimeout(poll, delay * 1000);
    }
  }

  function label(count, capped) {
    return count + (capped ? "+" : "") + " new article" + (count === 1 && !capped ? "" : "s");
  }

  function offer(el, count, capped) {
    var button = el.querySelector(".live-show");
    pending = count;
    if (count > 0) {
      button.textContent = label(count, capped) + " — show";
      button.hidden = false;
    } else {
      button.hidden = true;
    }
  }

  function poll() {
    var el = box();
    var every = seconds();
    if (!el || document.hidden) {
      schedule(every || 30); // results without a live box (an older page), or a hidden tab: look again later
      return;
    }
    if (!every) {
      return;
    }
    var url = el.getAttribute("data-url");
    url += (url.indexOf("?") >= 0 ? "&" : "?") + "after=" + encodeURIComponent(el.getAttribute("data-after")) +
      "&v=" + encodeURIComponent(el.getAttribute("data-version") || "");
    fetch(url, {
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Newsdesk-Partial": "live" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    }).then(function (body) {
      failures = 0;
      if (box() === el && body.changed) {
        if (body.version !== null && body.version !== undefined) {
          el.setAttribute("data-version", body.version);
        }
        offer(el, body["new"] || 0, body.capped);
      }
      schedule(every);
    }).catch(function () {
      failures += 1;
      schedule(Math.min(every * Math.pow(2, failures), 600));
    });
  }

  function reloadResults(el) {
    // Most-covered order (or too many to insert): the whole block again, at the same scroll position.
    var y = window.scrollY;
    return fetch(el.getAttribute("data-cards"), {
      credentials: "same-origin",
      headers: { "X-Newsdesk-Partial": "results" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    }).then(function (html) {
      results.innerHTML = html;
      window.scrollTo(0, y);
    });
  }

  function show(el) {
    var cards = document.getElementById("cards");
    if (el.getAttribute("data-sort") !== "newest") {
      return reloadResults(el);
    }
    var url = el.getAttribute("data-cards");
    url += (url.indexOf("?") >= 0 ? "&" : "?") + "after=" + encodeURIComponent(el.getAttribute("data-after"));
    return fetch(url, {
      credentials: "same-origin",
      headers: { "X-Newsdesk-Partial": "new" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      if (response.headers.get("X-Newsdesk-Complete") === "0") {
        return reloadResults(el);
      }
      var after = response.headers.get("X-Newsdesk-After");
      return response.text().then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        var fresh = Array.prototype.filter.call(holder.content.querySelectorAll(".card"), function (card) {
          return !document.getElementById(card.id);
        });
        var empty = cards.querySelector(".empty");
        if (empty) {
          empty.remove();
        }
        // Keep what the reader is looking at in place: note where the first card in view
        // sits, insert, and scroll by however far it moved (zero where the browser's own
        // scroll anchoring already kept it).
        var anchor = cards.firstElementChild;
        var watched = null;
        Array.prototype.some.call(cards.querySelectorAll(".card"), function (card) {
          if (card.getBoundingClientRect().bottom > 0) {
            watched = card;
            return true;
          }
          return false;
        });
        var top = watched ? watched.getBoundingClientRect().top : 0;
        fresh.forEach(function (card) {
          card.classList.add("card-fresh");
          cards.insertBefore(card, anchor);
        });
        if (watched && window.scrollY > 0) {
          window.scrollBy(0, watched.getBoundingClientRect().top - top);
        }
        if (after) {
          el.setAttribute("data-after", after);
        }
        var button = el.querySelector(".live-show");
        button.hidden = true;
        // Said by the status region, not shown: the cards themselves are the visible news.
        el.querySelector(".live-said").textContent =
          fresh.length + " new article" + (fresh.length === 1 ? "" : "s") + " added at the top";
        pending = 0;
      });
    });
  }

  results.addEventListener("click", function (event) {
    var button = event.target.closest(".live-show");
    if (!button) {
      return;
    }
    var el = box();
    button.disabled = true;
    show(el).catch(function () {
      window.location.reload();
    }).finally(function () {
      button.disabled = false;
    });
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      poll();
    }
  });
  window.newsdeskLive = { poll: poll, pending: function () { return pending; } };
  schedule(seconds());
})();
