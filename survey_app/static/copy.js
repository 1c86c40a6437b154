// Copy-link buttons: shown only when JavaScript runs; without it the link is a selectable text field.
document.querySelectorAll("button.copy-button").forEach(function (button) {
  var field = document.getElementById(button.dataset.copy);
  button.hidden = false;
  field.addEventListener("focus", function () { field.select(); });
  button.addEventListener("click", function () {
    field.select();
    var done = function () { button.textContent = "已复制"; setTimeout(function () { button.textContent = "复制链接"; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else { document.execCommand("copy"); done(); }
  });
});
