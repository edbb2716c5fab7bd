/* Keyboard: j/k next/previous card, o original, s story, t original text, / search, ? help.
 *
 * Progressive enhancement, like the rest: every action is also a link or a
 * control on the card. Keys are ignored while typing in a field and with
 * Ctrl, Alt or Meta (browser and screen-reader shortcuts stay theirs). The
 * card in hand gets the focus, so its outline shows where you are and a
 * screen reader reads the card it lands on; the help is a modal <dialog>
 * that keeps the focus inside and gives it back when closed.
 */
(function () {
  "use strict";
  var KEYS = [
    ["j", "Next article"],
    ["k", "Previous article"],
    ["o", "Open the original article (new tab)"],
    ["s", "Open the story page (Similar Coverage)"],
    ["t", "Show or hide the original text"],
    ["/", "Search"],
    ["?", "Show these keys"],
    ["Esc", "Close this help"]
  ];
  var say = null;
  var help = null;

  function status(text) {
    if (!say) {
      say = document.createElement("p");
      say.className = "visually-hidden";
      say.id = "keys-status";
      say.setAttribute("role", "status");
      document.body.appendChild(say);
    }
    say.textContent = "";
    window.setTimeout(function () { say.textContent = text; }, 30);
  }

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("#cards .card"));
  }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("#cards .card") : null;
  }

  function firstVisible(list) {
    for (var i = 0; i < list.length; i += 1) {
      if (list[i].getBoundingClientRect().bottom > 0) {
        return i;
      }
    }
    return 0;
  }

  function focusCard(card) {
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = cards();
    if (!list.length) {
      return;
    }
    var here = list.indexOf(current());
    if (here < 0) {
      focusCard(list[firstVisible(list)]);
      return;
    }
    var next = here + step;
    if (next >= list.length) {
      var more = document.querySelector("#results a[data-more]");
      if (more) {
        more.click(); // dashboard.js loads the next page and focuses its first card
      } else {
        status("Last article");
      }
      return;
    }
    if (next < 0) {
      status("First article");
      return;
    }
    focusCard(list[next]);
  }

  function inCard(selector, missing) {
    var card = current() || cards()[0];
    var target = card ? card.querySelector(selector) : null;
    if (!target) {
      status(missing);
    }
    return target;
  }

  function buildHelp() {
    help = document.createElement("dialog");
    help.id = "keys-help";
    help.className = "keys-help";
    help.setAttribute("aria-labelledby", "keys-help-title");
    var title = document.createElement("h2");
    title.id = "keys-help-title";
    title.textContent = "Keyboard shortcuts";
    var list = document.createElement("dl");
    KEYS.forEach(function (pair) {
      var key = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = pair[0];
      key.appendChild(kbd);
      var what = document.createElement("dd");
      what.textContent = pair[1];
      list.appendChild(key);
      list.appendChild(what);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", function () { help.close(); });
    help.appendChild(title);
    help.appendChild(list);
    help.appendChild(close);
    document.body.appendChild(help);
    return help;
  }

  function showHelp() {
    var dialog = help || buildHelp();
    if (dialog.open) {
      return;
    }
    var back = document.activeElement;
    dialog.addEventListener("close", function restore() {
      dialog.removeEventListener("close", restore);
      if (back && back.focus) {
        back.focus();
      }
    });
    dialog.showModal();
    dialog.querySelector("button").focus();
  }

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if ((help && help.open) || typing(event.target)) {
      return; // the dialog handles Esc itself; fields keep their keys
    }
    var link;
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "o":
        link = inCard("a.original-link", "This article has no original link");
        if (link) {
          window.open(link.href, "_blank", "noopener");
        }
        break;
      case "s":
        link = inCard("a.coverage", "This article is in no story yet");
        if (link) {
          window.location.assign(link.href);
        }
        break;
      case "t":
        link = inCard("details.original", "No original text: the article was written in English");
        if (link) {
          link.open = !link.open;
          status(link.open ? "Original text shown" : "Original text hidden");
        }
        break;
      case "/":
        link = document.getElementById("f-q");
        if (link) {
          link.focus();
          link.select();
        }
        break;
      case "?":
        showHelp();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // Say the shortcuts exist, where the help can be opened with a pointer too.
  var toolbar = document.querySelector(".side");
  if (toolbar && !document.getElementById("keys-open")) {
    var opener = document.createElement("button");
    opener.type = "button";
    opener.id = "keys-open";
    opener.className = "linklike keys-open";
    opener.textContent = "Keyboard shortcuts (?)";
    opener.addEventListener("click", showHelp);
    toolbar.appendChild(opener);
  }
})();
