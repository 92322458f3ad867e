// Search-as-you-type, facet filters without reloads, autocomplete with the keyboard.
// The page works without this file: the form submits as a plain GET.
(function () {
  "use strict";
  const form = document.getElementById("search-form");
  if (!form) return;
  const input = document.getElementById("q");
  const results = document.getElementById("search-results");
  const list = document.getElementById("suggestions");
  const suggestUrl = input.dataset.suggestUrl;
  let fetchController = null;
  let typingTimer = null;
  let recordTimer = null;
  let lastRecorded = input.value;
  let activeIndex = -1;

  function formQuery(extra) {
    const data = new FormData(form);
    const params = new URLSearchParams();
    for (const [key, value] of data.entries()) {
      if (String(value).trim() !== "") params.append(key, value);
    }
    // A sort left as the page showed it by default is not a choice: new text gets its
    // own default (relevance for words, newest or best rated without).
    if (params.get("sort") === params.get("default_sort")) params.delete("sort");
    params.delete("default_sort");
    if (params.get("size") === "20") params.delete("size");
    if (extra) for (const [k, v] of Object.entries(extra)) params.set(k, v);
    return params;
  }

  async function load(params, { push = false, record = false } = {}) {
    const shown = new URLSearchParams(params);
    shown.delete("partial");
    shown.delete("record");
    const url = "?" + shown.toString();
    const fetchParams = new URLSearchParams(shown);
    fetchParams.set("partial", "1");
    if (record) fetchParams.set("record", "1");
    if (fetchController) fetchController.abort();
    fetchController = new AbortController();
    const focusedId = document.activeElement && document.activeElement.id;
    try {
      // A new history entry is a page view for insights; refreshing while typing is not.
      const headers = { "X-Requested-With": "fetch" };
      if (push) headers["X-Page-View"] = "navigation";
      const response = await fetch("?" + fetchParams.toString(), {
        signal: fetchController.signal,
        headers,
      });
      if (response.status >= 500) throw new Error("server " + response.status);
      results.innerHTML = await response.text();
      showAppliedSort();
      bindResults();
      if (push) history.pushState({ q: shown.get("q") || "" }, "", url || "?");
      else history.replaceState({ q: shown.get("q") || "" }, "", url || "?");
      if (focusedId && focusedId !== "q") {
        const again = document.getElementById(focusedId);
        if (again) again.focus();
      }
    } catch (error) {
      if (error.name !== "AbortError") {
        results.querySelector(".results")?.insertAdjacentHTML(
          "afterbegin",
          '<p class="notice" role="alert">Search is unavailable right now; please try again.</p>'
        );
      }
    }
  }

  function refresh({ push = false, record = false, keepPage = false } = {}) {
    const params = formQuery();
    if (!keepPage) params.delete("page");
    load(params, { push, record });
  }

  // The sort control sits outside the results: show the order the server applied.
  function showAppliedSort() {
    const applied = results.querySelector("[data-sort]");
    if (!applied) return;
    form.elements.sort.value = applied.dataset.sort;
    form.elements.default_sort.value = applied.dataset.defaultSort;
  }

  function bindResults() {
    results.querySelectorAll(".more-values").forEach((button) => {
      button.addEventListener("click", () => {
        button.closest(".facet").classList.add("expanded");
        button.remove();
      });
    });
  }

  // Typing: results follow every pause of 200 ms; the search is recorded for analytics
  // once the user stops typing for a second (not every keystroke).
  input.addEventListener("input", () => {
    clearTimeout(typingTimer);
    clearTimeout(recordTimer);
    typingTimer = setTimeout(() => refresh(), 200);
    recordTimer = setTimeout(() => {
      if (input.value.trim() && input.value !== lastRecorded) {
        lastRecorded = input.value;
        refresh({ record: true });
      }
    }, 1000);
    suggest();
  });

  form.addEventListener("change", (event) => {
    if (event.target === input) return;
    refresh({ push: true });
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typingTimer);
    clearTimeout(recordTimer);
    if (activeIndex >= 0) return choose(activeIndex);
    closeSuggestions();
    lastRecorded = input.value;
    refresh({ push: true, record: true });
  });

  results.addEventListener("click", (event) => {
    const link = event.target.closest(".pagination a, a.did-you-mean, a.clear-filters");
    if (!link) return;
    event.preventDefault();
    const params = new URLSearchParams(link.getAttribute("href").replace(/^[^?]*\?/, ""));
    if (link.classList.contains("did-you-mean")) input.value = params.get("q") || "";
    load(params, { push: true, record: link.classList.contains("did-you-mean") }).then(() => {
      if (link.closest(".pagination")) window.scrollTo({ top: 0 });
    });
    if (link.classList.contains("clear-filters")) {
      form.querySelectorAll(".range input").forEach((el) => (el.value = ""));
    }
  });

  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    input.value = params.get("q") || "";
    for (const name of ["size", "year_min", "year_max", "rating_min", "rating_max"]) {
      const field = form.elements[name];
      if (field) field.value = params.get(name) || (name === "size" ? "20" : "");
    }
    load(params); // the sort shown follows from the answer
  });

  // --- autocomplete -------------------------------------------------------------
  let suggestController = null;
  let suggestTimer = null;

  function closeSuggestions() {
    list.hidden = true;
    list.innerHTML = "";
    activeIndex = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function suggest() {
    clearTimeout(suggestTimer);
    const text = input.value.trim();
    if (text.length < 2) return closeSuggestions();
    suggestTimer = setTimeout(async () => {
      if (suggestController) suggestController.abort();
      suggestController = new AbortController();
      try {
        const response = await fetch(suggestUrl + "?q=" + encodeURIComponent(text), {
          signal: suggestController.signal,
        });
        if (!response.ok) return closeSuggestions();
        const data = await response.json();
        render(data.suggestions || []);
      } catch (error) {
        if (error.name !== "AbortError") closeSuggestions();
      }
    }, 80);
  }

  function render(suggestions) {
    list.innerHTML = "";
    activeIndex = -1;
    if (!suggestions.length) return closeSuggestions();
    suggestions.forEach((item, index) => {
      const li = document.createElement("li");
      li.id = "suggestion-" + index;
      li.setAttribute("role", "option");
      li.dataset.id = item.id;
      li.textContent = item.label; // text, never HTML
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(index);
      });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function highlight(index) {
    const items = list.querySelectorAll("li");
    items.forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
    activeIndex = index;
    if (index >= 0) input.setAttribute("aria-activedescendant", items[index].id);
  }

  function choose(index) {
    const item = list.querySelectorAll("li")[index];
    if (!item) return;
    closeSuggestions();
    window.location.href = "/movies/" + encodeURIComponent(item.dataset.id) + "/";
  }

  input.addEventListener("keydown", (event) => {
    const count = list.hidden ? 0 : list.querySelectorAll("li").length;
    if (event.key === "ArrowDown" && count) {
      event.preventDefault();
      highlight((activeIndex + 1) % count);
    } else if (event.key === "ArrowUp" && count) {
      event.preventDefault();
      highlight(activeIndex <= 0 ? count - 1 : activeIndex - 1);
    } else if (event.key === "Escape" && count) {
      event.preventDefault(); // close the list without clearing the search field
      closeSuggestions();
    }
  });
  input.addEventListener("blur", () => setTimeout(closeSuggestions, 100));

  bindResults();
})();
