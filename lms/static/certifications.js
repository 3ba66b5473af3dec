// "Copy verification link" buttons. Without JavaScript they stay hidden and the link next
// to them is there to open or copy by hand; with it, one click puts the link on the clipboard.
(function () {
  "use strict";

  function fallbackCopy(text) {
    // Plain http (not localhost) has no Clipboard API; a selected textarea still copies.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    document.body.removeChild(area);
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var label = button.textContent;
    var status = button.nextElementSibling && button.nextElementSibling.hasAttribute("data-copy-status")
      ? button.nextElementSibling : null;
    var reset = null;
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(button.dataset.copy).then(function () {
        button.textContent = "Link copied";
        if (status) { status.textContent = "Verification link copied to the clipboard."; }
      }, function () {
        button.textContent = "Copy failed: use the link";
        if (status) { status.textContent = "Could not copy. Open the certificate ID link instead."; }
      });
      clearTimeout(reset);
      reset = setTimeout(function () {
        button.textContent = label;
        if (status) { status.textContent = ""; }
      }, 3000);
    });
  });
})();
