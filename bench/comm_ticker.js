// bench/phone_bench.py's comm scene: times the gaps between custom messages (frames) reaching the page.
export default {
  render({ model, el }) {
    let last = 0;
    const gaps = [];
    model.on("msg:custom", () => {
      const now = performance.now();
      if (last) gaps.push(now - last);
      last = now;
      el.dataset.count = String(gaps.length);
    });
    el.className = "vk-ticker";
    el.textContent = "a frame every 20 ms from the kernel";
    el.report = () => JSON.stringify(gaps);
  },
};
