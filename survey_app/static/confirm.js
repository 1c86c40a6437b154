// Ask before irreversible actions: a form or its submit button carries data-confirm="question".
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var message = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// On a phone the main menu folds behind a 菜单 button (it stays open without JavaScript).
document.documentElement.classList.add("js");
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest(".menu-button");
  if (!button) return;
  var nav = document.getElementById(button.getAttribute("aria-controls"));
  var open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", open ? "true" : "false");
  nav.classList.toggle("open", open);
});
