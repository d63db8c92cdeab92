// Reads one iCalendar object on stdin with ical.js (Mozilla's parser) and prints, as
// JSON, what a calendar app acts on: the calendar's METHOD and name, and for each
// VEVENT its UID, SEQUENCE, DTSTART (UTC, or the date of an all-day event), DTEND,
// STATUS and SUMMARY. tests/calendar/test_two_parsers.py compares it with icalendar's.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const calendar = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));

const when = (time) => {
  if (!time) return null;
  if (time.isDate) return time.toString(); // 2027-03-31
  return time.convertToZone(ICAL.Timezone.utcTimezone).toString(); // 2027-03-28T10:00:00Z
};

const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    sequence: event.sequence,
    dtstart: when(event.startDate),
    dtend: when(event.endDate),
    status: vevent.getFirstPropertyValue("status"),
    summary: event.summary,
    attendees: vevent.getAllProperties("attendee").map((p) => p.getFirstValue()),
    organizer: vevent.getFirstPropertyValue("organizer"),
  };
});

process.stdout.write(JSON.stringify({
  name: calendar.name,
  method: calendar.getFirstPropertyValue("method"),
  version: calendar.getFirstPropertyValue("version"),
  calname: calendar.getFirstPropertyValue("x-wr-calname"),
  events,
}));
