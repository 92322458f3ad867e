// The insights dashboard: draws the charts from the page's JSON (json_script) and
// refreshes the page-activity feed every few seconds. Text goes in with textContent
// only: page names and search queries are user text.
(function () {
  "use strict";
  var dataNode = document.getElementById("insights-chart-data");
  if (!dataNode || typeof Chart === "undefined") { return; }
  var data = JSON.parse(dataNode.textContent);
  var css = getComputedStyle(document.documentElement);
  var accent = css.getPropertyValue("--accent").trim() || "#3451b2";

  var views = document.getElementById("views-chart");
  if (views) {
    new Chart(views, {
      type: "line",
      data: {
        labels: data.views.labels,
        datasets: [
          { label: "Page views", data: data.views.values, borderColor: accent,
            backgroundColor: "rgba(52, 81, 178, 0.12)", fill: true, tension: 0.25, pointRadius: 2 },
          { label: "Searches", data: data.searches.values, borderColor: "#c77d12",
            backgroundColor: "transparent", tension: 0.25, pointRadius: 2 }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 12 } }, y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
  }

  var countries = document.getElementById("countries-chart");
  if (countries) {
    new Chart(countries, {
      type: "bar",
      data: { labels: data.countries.labels,
              datasets: [{ label: "Page views", data: data.countries.values, backgroundColor: accent }] },
      options: { indexAxis: "y", maintainAspectRatio: false, animation: false,
                 plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  var feed = document.getElementById("activity-feed");
  var status = document.getElementById("feed-status");
  if (!feed) { return; }

  function item(event) {
    var li = document.createElement("li");
    var time = document.createElement("time");
    time.dateTime = event.timestamp;
    time.textContent = event.timestamp.slice(11, 19);
    var page = document.createElement("span");
    page.className = "page";
    page.textContent = event.page;
    var from = document.createElement("span");
    from.className = "muted";
    from.textContent = "from " + event.country;
    li.append(time, " ", page, " ", from);
    if (event.search) {
      var search = document.createElement("span");
      search.className = "search";
      search.textContent = "searched \u201c" + event.search + "\u201d (" + event.results + " results)";
      li.append(" ", search);
    }
    return li;
  }

  function refresh() {
    fetch(feed.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        var items = body.events.map(item);
        if (!items.length) {
          var empty = document.createElement("li");
          empty.className = "muted empty";
          empty.textContent = "No page views in this period.";
          items = [empty];
        }
        feed.replaceChildren.apply(feed, items);
        if (status) { status.textContent = "updated " + new Date().toLocaleTimeString(); }
      })
      .catch(function () {
        if (status) { status.textContent = "feed unavailable; retrying"; }
      });
  }
  setInterval(refresh, 5000);
})();
