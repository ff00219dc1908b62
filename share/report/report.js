/* report.js: the page of longhaul-report(1). It reads the run's data from
 * the JSON in #report-data and lays it out; Chart.js (embedded before it)
 * draws the charts. Every string in the data may have been written by an
 * agent: it goes into the page as text (textContent), never as HTML.
 * When done it sets the attribute data-rendered of the body to "yes", and each chart's canvas
 * with the number of pixels drawn (data-pixels), so that a headless
 * browser's DOM dump shows whether the page worked. */
"use strict";
(function () {
var D = JSON.parse(document.getElementById("report-data").textContent);
var STATES = ["ready", "waiting", "claimed", "done", "failed"];
var COLORS = { done: "#2a9d5c", failed: "#d33c3c", requeue: "#f0a030", release: "#9a7fd1",
	claimed: "#3a7bd5", feedback: "#e8d44d", cancel: "#888888", edit: "#aaaaaa" };
var charts = [];

function el(tag, attrs, children) {
	var e = document.createElement(tag);
	if (attrs) Object.keys(attrs).forEach(function (k) {
		if (k === "text") e.textContent = attrs[k];
		else if (k === "class") e.className = attrs[k];
		else e.setAttribute(k, attrs[k]);
	});
	(children || []).forEach(function (c) { if (c) e.appendChild(c); });
	return e;
}
function text(s) { return document.createTextNode(s == null ? "" : String(s)); }
function iso(t) { return t == null ? "-" : new Date(t * 1000).toISOString().replace(".000Z", "Z"); }
var SPAN = 86400;      /* the run's length, set below: how precise the clock on the axes is */
function hhmm(t) {
	var s = new Date(t * 1000).toISOString();
	return SPAN < 900 ? s.slice(11, 19) : SPAN < 2 * 86400 ? s.slice(11, 16) : s.slice(5, 16).replace("T", " ");
}
function usd(x) { return "$" + (x || 0).toFixed(6); }
function section(title, id) {
	var s = el("section", { id: id });
	s.appendChild(el("h2", { text: title }));
	document.body.appendChild(s);
	return s;
}
function table(head, rows, attrs) {
	var t = el("table", attrs), tr = el("tr");
	head.forEach(function (h) { tr.appendChild(el("th", { text: h })); });
	t.appendChild(tr);
	rows.forEach(function (r) { t.appendChild(r); });
	return t;
}
function row(cells) {
	var tr = el("tr");
	cells.forEach(function (c) {
		if (c instanceof Node) { var td = el("td"); td.appendChild(c); tr.appendChild(td); }
		else if (typeof c === "number") tr.appendChild(el("td", { class: "n", text: String(c) }));
		else tr.appendChild(el("td", { text: c == null ? "-" : String(c) }));
	});
	return tr;
}
function chartBox(id, height) {
	var box = el("div", { class: "chart" }), c = el("canvas", { id: id });
	if (height) box.style.height = height + "px";
	box.appendChild(c);
	return { box: box, canvas: c };
}
function timeAxis(title) {
	return { type: "linear", title: { display: true, text: title + " (UTC)" },
		ticks: { callback: function (v) { return hhmm(v); }, maxTicksLimit: 12 } };
}

/* ---- the header and the numbers, as task-ls and llm-usage count them ---- */
document.body.appendChild(el("h1", { text: "longhaul report" }));
document.body.appendChild(el("p", { class: "muted", text: "Board " + D.board + ", branch " + D.branch +
	(D.remote ? " of " + D.remote : "") + "; written " + iso(D.generated) +
	(D.bad_records ? "; " + D.bad_records + " unreadable records skipped" : "") }));

var counts = {}, byId = {};
STATES.forEach(function (s) { counts[s] = 0; });
D.tasks.forEach(function (t) { counts[t.state] = (counts[t.state] || 0) + 1; byId[t.id] = t; });
var total = D.usage.total, byRole = D.usage.by_role, byModel = D.usage.by_model;
/* history entries are [version, event, state, time, by, reason] */
D.tasks.forEach(function (t) {
	t.history = t.history.map(function (h) { return { v: h[0], event: h[1], state: h[2], t: h[3], who: h[4], reason: h[5] }; });
	t.transcripts.forEach(function (tr) {
		tr.path = tr.file.indexOf("transcripts/") === 0 ? D.board + "/" + tr.file : D.workdir + "/transcripts/" + tr.file;
	});
});
var sum = section("Summary", "summary");
var srows = STATES.map(function (s) {
	var tr = row([s, counts[s]]);
	tr.lastChild.id = "count-" + s;
	tr.lastChild.setAttribute("data-value", counts[s]);
	return tr;
});
srows.push(row(["all", D.tasks.length]));
srows[srows.length - 1].lastChild.id = "count-all";
sum.appendChild(table(["tasks", "count"], srows));
var urows = [];
function usageRows(kind, groups) {
	Object.keys(groups).sort().forEach(function (k) {
		var g = groups[k], tr = row([kind, k, g.calls, g.tokens, usd(g.cost)]);
		tr.setAttribute("data-by", kind); tr.setAttribute("data-key", k);
		tr.setAttribute("data-calls", g.calls); tr.setAttribute("data-cost", g.cost.toFixed(6));
		urows.push(tr);
	});
}
usageRows("role", byRole);
usageRows("model", byModel);
var tot = row(["total", "", total.calls, total.tokens, usd(total.cost)]);
tot.id = "usage-total";
tot.setAttribute("data-calls", total.calls); tot.setAttribute("data-tokens", total.tokens);
tot.setAttribute("data-cost", total.cost.toFixed(6));
urows.push(tot);
sum.appendChild(el("p", { text: "Model calls, tokens and dollars" +
	(D.budget_usd != null ? ", against a budget of $" + D.budget_usd : "") + ":" }));
sum.appendChild(table(["by", "", "calls", "tokens", "dollars"], urows));

/* ---- the timeline: each claim of a task as a bar on its agent's row ---- */
var bars = { done: [], failed: [], requeue: [], release: [], claimed: [], feedback: [], cancel: [] };
/* the picture spans the run: from the first event to the last, or to
 * the time of the report while tasks are still claimed */
var agents = {}, tmin = Infinity, tmax = -Infinity, live = false;
function seen(t) { if (t != null) { tmin = Math.min(tmin, t); tmax = Math.max(tmax, t); } }
D.tasks.forEach(function (t) { t.history.forEach(function (h) { seen(h.t); }); live = live || t.state === "claimed"; });
D.usage.steps.forEach(function (st) { seen(st.t); });
if (!isFinite(tmin)) { tmin = D.generated - 60; tmax = D.generated; }
var now = live ? Math.max(D.generated, tmax) : tmax;
D.commits.forEach(function (c) { if (c.t != null && c.t >= tmin && c.t <= now) tmax = Math.max(tmax, c.t); });
now = Math.max(now, tmax);
D.tasks.forEach(function (t) {
	t.history.forEach(function (h, i) {
		if (h.event !== "claim" || h.t == null) return;
		var next = t.history[i + 1], who = h.who || "?", end = next && next.t != null ? next.t : now;
		var outcome = !next ? "claimed" : next.event === "done" ? "done" : next.event === "requeue" ? "requeue" :
			next.event === "release" ? "release" : next.event === "cancel" ? "cancel" :
			next.state === "failed" ? "failed" : "requeue";
		agents[who] = true;
		(bars[outcome] || bars.requeue).push({ x: [h.t, Math.max(end, h.t + 1)], y: who, task: t.id,
			title: t.title, outcome: next ? next.event + (next.reason ? ": " + next.reason : "") : "running" });
		/* feedback rounds of this claim: from its transcript, drawn over the bar */
		t.transcripts.forEach(function (tr) {
			if (tr.token !== h.v) return;
			tr.feedback.forEach(function (f, k) {
				/* record times are whole seconds: a second of slack at the end */
				var fe = Math.min(k + 1 < tr.feedback.length ? tr.feedback[k + 1] : end, end + 1);
				if (f > end + 1) return;
				bars.feedback.push({ x: [f, Math.max(fe, f + 1)], y: who, task: t.id, title: t.title,
					outcome: "feedback round " + (k + 1) });
			});
		});
	});
});
SPAN = now - tmin;
var agentNames = Object.keys(agents).sort();
var tl = section("Timeline: tasks per agent, claim to end", "timeline");
tl.appendChild(el("p", { class: "muted", text: "One bar per claim, coloured by how it ended; a requeue " +
	"or a release ends a bar and the task's next claim starts another; yellow spans are the rounds after " +
	"a message to the agent once it had begun: for a worker a failed check or a conflict, for a planner " +
	"the handoff notes it woke on." }));
var g = chartBox("chart-timeline", Math.max(160, 22 * agentNames.length + 90));
tl.appendChild(g.box);
function barSet(name, label) {
	return { type: "bar", label: label, data: bars[name], backgroundColor: COLORS[name], grouped: false,
		borderColor: "#ffffff", borderWidth: name === "feedback" ? 0 : 1, borderSkipped: false,
		barPercentage: name === "feedback" ? 0.35 : 0.8, categoryPercentage: 1 };
}
charts.push(new Chart(g.canvas, {
	type: "bar",
	data: { labels: agentNames, datasets: [barSet("done", "done"), barSet("failed", "failed"),
		barSet("requeue", "requeued"), barSet("release", "released"), barSet("cancel", "cancelled"),
		barSet("claimed", "still claimed"), barSet("feedback", "feedback round")] },
	options: { indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
		parsing: { xAxisKey: "x", yAxisKey: "y" },
		scales: { x: Object.assign(timeAxis("time"), { min: tmin, max: Math.max(now, tmin + 1) }),
			y: { type: "category", labels: agentNames } },
		plugins: { tooltip: { callbacks: { label: function (c) {
			var r = c.raw; return r.task + " " + r.title + " (" + r.outcome + ")"; } } } } }
}));

/* ---- progress: tasks done, commits landed, the landing queue ---- */
function cumulative(times) {
	times.sort(function (a, b) { return a - b; });
	var pts = [{ x: tmin, y: 0 }];
	times.forEach(function (t, i) { pts.push({ x: t, y: i + 1 }); });
	return pts;
}
var doneTimes = [], landing = [];
D.tasks.forEach(function (t) {
	var last = t.history[t.history.length - 1];
	if (t.state === "done" && last.t != null) doneTimes.push(last.t);
	/* landing: from the agent's last submit to the end of that claim */
	t.transcripts.forEach(function (tr) {
		if (tr.submit == null) return;
		var end = null;
		t.history.forEach(function (h, i) {
			if (h.event === "claim" && h.v === tr.token) {
				var n = t.history[i + 1]; end = n && n.t != null ? n.t : now;
			}
		});
		if (end != null && end >= tr.submit) { landing.push([tr.submit, 1]); landing.push([end, -1]); }
	});
});
var commitTimes = D.commits.filter(function (c) { return c.t != null && c.t >= tmin; }).map(function (c) { return c.t; });
landing.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
var q = 0, queue = [{ x: tmin, y: 0 }];
landing.forEach(function (e) { q += e[1]; queue.push({ x: e[0], y: q }); });
queue.push({ x: Math.max(tmax, now), y: q });
var pr = section("Progress: tasks done, commits landed, the landing queue", "progress");
pr.appendChild(el("p", { class: "muted", text: doneTimes.length + " tasks done, " + D.commits.length +
	" commits on " + D.branch + (D.remote ? "" : " (no repository given: -R)") +
	". The landing queue counts the tasks whose agent has submitted and whose worker has not yet " +
	"landed them (verify, rebase, push), from the transcripts." }));
g = chartBox("chart-progress");
pr.appendChild(g.box);
charts.push(new Chart(g.canvas, {
	type: "line",
	data: { datasets: [
		{ label: "tasks done", data: cumulative(doneTimes), stepped: true, borderColor: COLORS.done, pointRadius: 0 },
		{ label: "commits landed", data: cumulative(commitTimes), stepped: true, borderColor: COLORS.claimed, pointRadius: 0 },
		{ label: "landing queue", data: queue, stepped: true, borderColor: COLORS.requeue, pointRadius: 0, yAxisID: "q" }] },
	options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
		scales: { x: timeAxis("time"), y: { beginAtZero: true, title: { display: true, text: "count" } },
			q: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
				title: { display: true, text: "in the landing queue" } } } }
}));

/* ---- spend over time, by role and by model, against the budget ---- */
var sp = section("Spend over time", "spend");
function spendChart(id, key, title) {
	var keys = {}, acc = {}, pts = {}, all = [{ x: tmin, y: 0 }], running = 0;
	D.usage.steps.forEach(function (st) { Object.keys(st[key]).forEach(function (k) { keys[k] = true; }); });
	Object.keys(keys).forEach(function (k) { pts[k] = [{ x: tmin, y: 0 }]; acc[k] = 0; });
	D.usage.steps.forEach(function (st) {
		Object.keys(st[key]).forEach(function (k) { acc[k] += st[key][k]; running += st[key][k]; });
		Object.keys(keys).forEach(function (k) { pts[k].push({ x: st.t, y: acc[k] }); });
		all.push({ x: st.t, y: running });
	});
	var palette = ["#3a7bd5", "#2a9d5c", "#d33c3c", "#9a7fd1", "#f0a030", "#555555"];
	var sets = Object.keys(keys).sort().map(function (k, i) {
		return { label: k, data: pts[k], borderColor: palette[i % palette.length], pointRadius: 0 };
	});
	sets.push({ label: "total", data: all, borderColor: "#222", borderDash: [4, 3], pointRadius: 0 });
	if (D.budget_usd != null)
		sets.push({ label: "budget", data: [{ x: tmin, y: D.budget_usd }, { x: Math.max(tmax, now), y: D.budget_usd }],
			borderColor: "#d33c3c", borderWidth: 2, pointRadius: 0 });
	var b = chartBox(id);
	sp.appendChild(el("h3", { text: title }));
	sp.appendChild(b.box);
	charts.push(new Chart(b.canvas, { type: "line", data: { datasets: sets },
		options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
			scales: { x: timeAxis("time"), y: { beginAtZero: true, title: { display: true, text: "dollars, so far" } } } } }));
}
spendChart("chart-spend-role", "role", "By role");
spendChart("chart-spend-model", "model", "By model");

/* ---- the task tree: planners, sub-planners and their tasks ---- */
var tree = section("Task tree", "tree"), kids = {};
D.tasks.forEach(function (t) {
	var p = t.parent && byId[t.parent] ? t.parent : "";
	(kids[p] = kids[p] || []).push(t);
});
function node(t, depth) {
	var line = el("span", {}, [el("span", { class: "state-" + t.state, text: t.state }), text(" "),
		el("a", { href: "#task-" + t.id, text: t.id }), text(" " + (t.kind === "plan" ? "[plan] " : "") +
		(t.area ? "(" + t.area + ") " : "") + t.title)]);
	var children = kids[t.id] || [];
	if (!children.length && !t.note) return el("div", { class: "leaf" }, [line]);
	var d = el("details", depth < 2 ? { open: "" } : {}, [el("summary", {}, [line])]);
	if (t.note) d.appendChild(el("pre", { text: "handoff note: " + t.note }));
	children.forEach(function (c) { d.appendChild(node(c, depth + 1)); });
	return d;
}
(kids[""] || []).forEach(function (t) { tree.appendChild(node(t, 0)); });

/* ---- failures and requeues, with their reasons ---- */
var fr = section("Failures and requeues", "failures"), frows = [];
D.tasks.forEach(function (t) {
	var holder = null;
	t.history.forEach(function (h) {
		if (h.event === "claim") holder = h.who;
		if (["fail", "requeue", "release", "cancel"].indexOf(h.event) < 0) return;
		/* whose claim ended: the claim's owner (a requeue is written by the reaper) */
		frows.push({ t: h.t, r: row([iso(h.t), el("a", { href: "#task-" + t.id, text: t.id }), h.event,
			h.state === "failed" ? "failed for good" : "back to " + h.state,
			h.event === "cancel" ? h.who : holder || h.who, h.reason]) });
		holder = null;
	});
});
frows.sort(function (a, b) { return (a.t || 0) - (b.t || 0); });
fr.appendChild(frows.length ? table(["time", "task", "event", "then", "claim of", "reason"], frows.map(function (f) { return f.r; }))
	: el("p", { text: "None." }));

/* ---- the judge: a verdict per cycle, with the gate's output ---- */
var vs = section("Cycles and verdicts", "verdicts");
D.cycles.forEach(function (c) {
	vs.appendChild(el("p", { text: "Cycle " + c.cycle + ": " + c.state + ", started " + iso(c.started) +
		(c.ended ? ", ended " + iso(c.ended) + " (" + c.end + ")" : "") + (c.start_commit ? ", from " + String(c.start_commit).slice(0, 12) : "") }));
});
D.verdicts.forEach(function (v) {
	var gate = v.facts && v.facts.gate, d = el("details", { open: "" });
	d.appendChild(el("summary", { text: "Verdict of cycle " + v.cycle + ": " + v.decision + ", goal met: " + v.goal_met +
		", gate " + v.gate + " on " + String(v.commit || "").slice(0, 12) }));
	d.appendChild(el("p", { text: v.reasons }));
	((gate && gate.commands) || []).forEach(function (c) {
		d.appendChild(el("p", { text: "$ " + c.command + "  (exit " + c.exit + (c.timed_out ? ", timed out" : "") + ", " + c.seconds + " s)" }));
		d.appendChild(el("pre", { text: c.tail }));
	});
	vs.appendChild(d);
});
if (!D.cycles.length && !D.verdicts.length) vs.appendChild(el("p", { text: "No cycles on this board." }));

/* ---- every task: its history, transcript and commit ---- */
var commitsBy = {};
D.commits.forEach(function (c) { commitsBy[c.commit] = c; if (c.task) commitsBy["task:" + c.task] = commitsBy["task:" + c.task] || c; });
var all = section("Tasks", "tasks");
function detail(t) {
	var box = el("div");
	box.appendChild(el("p", { text: t.kind + " task in " + (t.area || "no area") + ", priority " + t.priority +
		", cycle " + t.cycle + ", attempts " + t.attempts + " of " + t.max_attempts +
		(t.parent ? ", planned under " + t.parent : "") + (t.reason ? "; reason: " + t.reason : "") }));
	box.appendChild(table(["version", "time", "event", "state", "by", "reason"], t.history.map(function (h) {
		return row([h.v, iso(h.t), h.event, h.state, h.who, h.reason]);
	})));
	var c = (t.commit && commitsBy[t.commit]) || commitsBy["task:" + t.id];
	if (t.commit || c)
		box.appendChild(el("p", { text: "Commit " + (t.commit || c.commit) + (c ? ": " + c.subject + " (" + c.author +
			", " + iso(c.t) + (c.stat ? "; " + c.stat : "") + ")" : " (not on " + D.branch + ")") }));
	if (t.note) box.appendChild(el("pre", { text: "handoff note: " + t.note }));
	t.transcripts.forEach(function (tr) {
		box.appendChild(el("p", { text: "Transcript of claim " + tr.token + ": " + tr.steps + " steps, " + tr.commands +
			" commands, " + tr.feedback.length + " feedback rounds, " + usd(tr.cost) + ", " + tr.tokens + " tokens; " + tr.path }));
		if (!tr.lines) { box.appendChild(el("p", { class: "muted", text: "(not embedded: longhaul-report -n keeps the transcripts of the troubled and the latest tasks)" })); return; }
		var pre = el("pre");
		tr.lines.forEach(function (l) {
			var s = "[" + (l.t ? hhmm(l.t) : "--:--") + "] " + l.type + (l.step ? " " + l.step : "") + ": " +
				(l.cmd ? "$ " + l.cmd : l.tool === "submit" ? "submit " + l.text : l.text) + (l.exit != null ? " (exit " + l.exit + ")" : "");
			pre.appendChild(el("span", { class: "tr-" + l.type, text: s + "\n" }));
		});
		box.appendChild(pre);
	});
	return box;
}
var trows = D.tasks.map(function (t) {
	var tr = row([t.id, t.state, t.kind, t.area || "-", t.attempts, t.title]);
	tr.id = "task-" + t.id;
	tr.setAttribute("data-task", t.id);
	tr.setAttribute("data-state", t.state);
	tr.firstChild.className = "state-" + t.state;
	tr.style.cursor = "pointer";
	tr.addEventListener("click", function () {
		var n = tr.nextSibling;
		if (n && n.className === "task-detail") { n.parentNode.removeChild(n); return; }
		var d = el("tr", { class: "task-detail" }), td = el("td", { colspan: "6" });
		td.appendChild(detail(t)); d.appendChild(td);
		tr.parentNode.insertBefore(d, tr.nextSibling);
	});
	return tr;
});
all.appendChild(el("p", { class: "muted", text: "Click a task for its history, its transcript and its commit." }));
all.appendChild(table(["id", "state", "kind", "area", "attempts", "title"], trows, { id: "task-table" }));
function openHash() {
	var r = location.hash && document.getElementById(location.hash.slice(1));
	if (r && r.getAttribute("data-task") && !(r.nextSibling && r.nextSibling.className === "task-detail")) r.click();
}
window.addEventListener("hashchange", openHash);
openHash();

/* ---- for tests and for people: did it all draw? ---- */
charts.forEach(function (c) {
	var cv = c.canvas, n = 0;
	try {
		var px = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
		for (var i = 3; i < px.length; i += 4) if (px[i]) n++;
	} catch (e) { n = -1; }
	cv.setAttribute("data-pixels", n);
	cv.setAttribute("data-series", c.data.datasets.map(function (d) { return d.label + ":" + d.data.length; }).join(","));
});
var errs = el("pre", { id: "report-errors", text: window.reportErrors.join("\n") });
if (!window.reportErrors.length) errs.style.display = "none";
document.body.appendChild(errs);
document.body.setAttribute("data-errors", window.reportErrors.length);
document.body.setAttribute("data-rendered", "yes");
})();
