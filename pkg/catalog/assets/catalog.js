// imgctl catalog: search, grouping and copy buttons. No dependencies; the
// page is complete without it (both groupings shown, no filtering).
(function () {
	"use strict";
	document.documentElement.classList.add("js");

	function announce(msg) {
		var live = document.getElementById("live");
		if (live) {
			live.textContent = msg;
		}
	}

	// Copy buttons: the Clipboard API where allowed, else a selected
	// textarea and execCommand (file:// pages in some browsers).
	function fallbackCopy(text) {
		var ta = document.createElement("textarea");
		ta.value = text;
		ta.setAttribute("readonly", "");
		ta.style.position = "absolute";
		ta.style.left = "-9999px";
		document.body.appendChild(ta);
		ta.select();
		var ok = false;
		try {
			ok = document.execCommand("copy");
		} catch (e) {
			ok = false;
		}
		document.body.removeChild(ta);
		return ok;
	}
	function copied(btn, ok) {
		var label = btn.textContent;
		btn.textContent = ok ? "Copied" : "Press Ctrl+C";
		announce(ok ? "Copied to the clipboard" : "Could not copy; select the command and copy it");
		setTimeout(function () { btn.textContent = label; }, 1500);
	}
	document.addEventListener("click", function (ev) {
		var btn = ev.target.closest ? ev.target.closest("button.copy") : null;
		if (!btn) {
			return;
		}
		var text = btn.getAttribute("data-copy");
		if (navigator.clipboard && window.isSecureContext) {
			navigator.clipboard.writeText(text).then(function () {
				copied(btn, true);
			}, function () {
				copied(btn, fallbackCopy(text));
			});
		} else {
			copied(btn, fallbackCopy(text));
		}
	});

	var search = document.getElementById("search");
	if (!search) {
		return;
	}
	var groupings = document.querySelectorAll(".grouping");
	var radios = document.querySelectorAll('input[name="group"]');
	var status = document.getElementById("search-status");
	var noMatch = document.getElementById("no-match");

	function grouping() {
		for (var i = 0; i < radios.length; i++) {
			if (radios[i].checked) {
				return radios[i].value;
			}
		}
		return "family";
	}

	function apply() {
		var g = grouping();
		var terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
		var shown = 0;
		for (var i = 0; i < groupings.length; i++) {
			var sec = groupings[i];
			var active = sec.getAttribute("data-group") === g;
			sec.hidden = !active;
			var groups = sec.querySelectorAll(".group");
			for (var j = 0; j < groups.length; j++) {
				var cards = groups[j].querySelectorAll(".card");
				var any = false;
				for (var k = 0; k < cards.length; k++) {
					var hay = cards[k].getAttribute("data-search") || "";
					var match = terms.every(function (t) { return hay.indexOf(t) >= 0; });
					cards[k].hidden = !match;
					if (match) {
						any = true;
						if (active) {
							shown++;
						}
					}
				}
				groups[j].hidden = !any;
			}
		}
		noMatch.hidden = shown > 0;
		status.textContent = terms.length ? shown + (shown === 1 ? " image matches" : " images match") : "";
	}

	search.addEventListener("input", apply);
	for (var i = 0; i < radios.length; i++) {
		radios[i].addEventListener("change", apply);
	}
	apply();
})();
