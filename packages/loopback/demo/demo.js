// The demo page's own bits: this cluster's driver addresses, and a button that opens the widget.
const host = location.host;
document.getElementById("driver-uri").textContent = `ws://${host}/client_socket/websocket`;
document.getElementById("repo-host").textContent = host;
document.getElementById("open-widget").addEventListener("click", () => window.Motivus?.open?.());
