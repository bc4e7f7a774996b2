// Pages are cached and shared by readers in every time zone, so the server writes the
// moments members posted things in UTC; here they are shown in the reader's own zone.
(() => {
  const language = document.documentElement.lang || undefined;
  const styles = {
    date: { year: "numeric", month: "short", day: "numeric" },
    datetime: {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "numeric",
      minute: "2-digit",
      timeZoneName: "short",
    },
  };
  for (const element of document.querySelectorAll("time[data-local-time]")) {
    const style = styles[element.dataset.localTime];
    const moment = new Date(element.getAttribute("datetime"));
    if (!style || Number.isNaN(moment.getTime())) continue;
    try {
      const shown = new Intl.DateTimeFormat(language, style).format(moment);
      element.title = element.textContent.trim(); // the UTC original, on hover
      element.textContent = shown;
    } catch (error) {
      // An engine without Intl's options: the UTC text stays, and says it is UTC.
    }
  }
})();
