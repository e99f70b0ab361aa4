// Meeting and series forms: hide the inputs that do not apply. The forms work without this file.
"use strict";

(() => {
  const cell = (name) => document.querySelector(`.schedule-${name}`);
  const show = (name, visible) => {
    const element = cell(name);
    if (element) element.hidden = !visible;
  };

  // All-day meetings have dates only.
  const allDay = document.getElementById("is_all_day");
  if (allDay) {
    const sync = () => {
      show("start_time", !allDay.checked);
      show("end_time", !allDay.checked);
    };
    allDay.addEventListener("change", sync);
    sync();
  }

  // Series: only the rule details of the chosen frequency.
  const frequency = document.getElementById("frequency");
  if (frequency) {
    const sync = () => {
      const value = frequency.value;
      show("weekday", value !== "monthly_day");
      show("week_of_month", value === "monthly_weekday");
      show("day_of_month", value === "monthly_day");
    };
    frequency.addEventListener("change", sync);
    sync();
  }
})();
