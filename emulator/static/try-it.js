// The emulator's try-it page: submit a document to Read v3.2 on this same origin, poll the
// operation, and show each page with its line and word boxes, the text and the JSON.
// No outside resources; the content-security policy allows this origin only.
"use strict";

const API = "/vision/v3.2";
const SHOWABLE = ["image/png", "image/jpeg", "image/bmp", "image/gif", "image/webp"];
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

let chosenFile = null;
let imageUrl = null;
let pages = [];

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

function choose(file) {
  chosenFile = file;
  $("chosen").textContent = file ? `${file.name} (${file.size} bytes)` : "";
  if (file) $("url").value = "";
}

function analyzeUrl() {
  const query = new URLSearchParams();
  const language = $("language").value.trim();
  const pageRanges = $("pages").value.trim();
  if (language) query.set("language", language);
  if (pageRanges) query.set("pages", pageRanges);
  query.set("readingOrder", $("readingOrder").value);
  query.set("model-version", $("modelVersion").value);
  return `${API}/read/analyze?${query}`;
}

async function errorText(response) {
  try {
    const body = await response.json();
    const error = body.error || body;
    return `${response.status} ${error.code}: ${error.message}`;
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function read(event) {
  event.preventDefault();
  const key = $("key").value;
  const url = $("url").value.trim();
  if (!chosenFile && !url) {
    setStatus("Choose a file, drop one, or give a URL.", true);
    return;
  }
  const headers = { "Ocp-Apim-Subscription-Key": key };
  let body;
  if (chosenFile) {
    headers["Content-Type"] = "application/octet-stream";
    body = chosenFile;
  } else {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify({ url });
  }
  $("read").disabled = true;
  setStatus("Submitting…");
  try {
    const accepted = await fetch(analyzeUrl(), { method: "POST", headers, body });
    if (accepted.status !== 202) {
      setStatus(await errorText(accepted), true);
      return;
    }
    const location = accepted.headers.get("Operation-Location");
    for (;;) {
      const polled = await fetch(location, { headers: { "Ocp-Apim-Subscription-Key": key } });
      if (!polled.ok) {
        setStatus(await errorText(polled), true);
        return;
      }
      const operation = await polled.json();
      if (operation.status === "succeeded") {
        show(operation);
        setStatus(`Read ${operation.analyzeResult.readResults.length} page(s).`);
        return;
      }
      if (operation.status === "failed") {
        setStatus("The operation failed.", true);
        return;
      }
      setStatus(`${operation.status}…`);
      const wait = Number(polled.headers.get("Retry-After") || "0.5");
      await sleep(Math.min(Math.max(wait, 0.2), 2) * 1000);
    }
  } catch (error) {
    setStatus(`Request failed: ${error}`, true);
  } finally {
    $("read").disabled = false;
  }
}

function show(operation) {
  pages = operation.analyzeResult.readResults;
  $("json").textContent = JSON.stringify(operation, null, 2);
  $("text").textContent = pages
    .map((page) => page.lines.map((line) => line.text).join("\n"))
    .join("\n\n");
  if (imageUrl) URL.revokeObjectURL(imageUrl);
  imageUrl = null;
  if (chosenFile && SHOWABLE.includes(chosenFile.type)) imageUrl = URL.createObjectURL(chosenFile);
  const tabs = $("page-tabs");
  tabs.replaceChildren();
  pages.forEach((page, index) => {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.textContent = `page ${page.page}`;
    tab.addEventListener("click", () => showPage(index));
    tabs.append(tab);
  });
  $("result").hidden = false;
  showPage(0);
}

function polygon(box, kind) {
  const shape = document.createElementNS(SVG, "polygon");
  const points = [];
  for (let i = 0; i < box.length; i += 2) points.push(`${box[i]},${box[i + 1]}`);
  shape.setAttribute("points", points.join(" "));
  shape.setAttribute("class", kind);
  return shape;
}

function showPage(index) {
  const page = pages[index];
  [...$("page-tabs").children].forEach((tab, i) => tab.classList.toggle("current", i === index));
  const svg = $("boxes");
  const image = $("image");
  svg.setAttribute("viewBox", `0 0 ${page.width} ${page.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  // The page as sent when the browser can show it (one image); else a white page of its size.
  const onImage = imageUrl !== null && pages.length === 1 && page.unit === "pixel";
  image.hidden = !onImage;
  if (onImage) {
    image.src = imageUrl;
    svg.style.position = "absolute";
    svg.removeAttribute("width");
  } else {
    image.removeAttribute("src");
    svg.style.position = "static";
    svg.setAttribute("width", "100%");
    svg.style.aspectRatio = `${page.width} / ${page.height}`;
  }
  svg.replaceChildren();
  for (const line of page.lines) {
    svg.append(polygon(line.boundingBox, "line"));
    for (const word of line.words) svg.append(polygon(word.boundingBox, "word"));
  }
}

function init() {
  $("request").addEventListener("submit", read);
  $("file").addEventListener("change", () => choose($("file").files[0] || null));
  $("url").addEventListener("input", () => {
    if ($("url").value) {
      choose(null);
      $("file").value = "";
    }
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
  });
}

init();
