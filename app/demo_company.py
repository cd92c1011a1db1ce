"""Brightline, the sample company `app/demo_data.py` loads, written out: its teams, people,
customers, projects, tasks with tags and comments, and the time worked (dates are days
from today, so every load is the same)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str
    roles: tuple[str, ...]
    group: str

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


@dataclass(frozen=True)
class Client:
    """A customer; its projects are owned as it is."""

    name: str
    company: str | None
    email: str
    phone: str | None
    owner: str
    group: str | None
    notes: str
    is_active: bool = True


@dataclass(frozen=True)
class Work:
    """A project (`start` and `due` in days from today), owned as its customer is (as admin's,
    of no group, without one); its tasks, comments and time entries belong to its group."""

    key: str
    customer: str | None
    name: str
    status: str
    budget: int | None
    start: int
    due: int
    is_billable: bool = True


@dataclass(frozen=True)
class Todo:
    """A task (`due` in days from today; `tags` space-separated), owned by its assignee, or by
    its project's owner when unassigned."""

    title: str
    status: str
    priority: int
    assignee: str | None
    due: int | None
    estimate: int | None
    tags: str = ""


GROUPS = {"platform-team": "Hosting, data and integrations"}
PEOPLE = (
    Person("maria", "Maria Lopez", ("user", "manager"), "demo-team"),
    Person("oscar", "Oscar Lindqvist", ("user",), "demo-team"),
    Person("priya", "Priya Raman", ("user",), "platform-team"),
    Person("tomas", "Tomás Herrera", ("user",), "platform-team"),
    Person("carla", "Carla Nguyen", ("contractor",), "platform-team"),
)
# The contractor role (carla's): conditions decide what it reaches, not ownership. She reads
# the tasks assigned to her in active projects, and updates those of them not done yet.
CONDITIONS = {  # name: (model, expression, description)
    "assigned": (
        "task",
        'record.assignee_id == subject.id and record.project.status == "active"',
        "Tasks assigned to the one asking, in an active project.",
    ),
    "open": ("task", 'record.status != "done"', "Tasks not done yet."),
}
CONTRACTOR = ("task:read:all[assigned]", "task:update:all[open]")
# name: (color, owner, group); everyone reads every tag
TAGS = {
    "bug": ("#dc2626", "admin", None),
    "feature": ("#2563eb", "admin", None),
    "design": ("#db2777", "admin", None),
    "frontend": ("#0891b2", "admin", None),
    "backend": ("#7c3aed", "admin", None),
    "devops": ("#16a34a", "admin", None),
    "urgent": ("#ea580c", "admin", None),
    "client-feedback": ("#ca8a04", "admin", None),
    "research": ("#6b7280", "demo", "demo-team"),
}
CUSTOMERS = (
    Client(
        "Harbor Coffee Roasters",
        "Harbor Coffee Roasters LLC",
        "elena.marsh@harborcoffee.example",
        "+1 503 555 0142",
        "demo",
        "demo-team",
        "Three cafés and a web shop. Contact: Elena Marsh, head of marketing.",
    ),
    Client(
        "Alder & Finch",
        "Alder & Finch LLP",
        "office@alderfinch.example",
        "+44 20 7946 0321",
        "maria",
        "demo-team",
        "Law firm: every deliverable goes through their compliance review first.",
    ),
    Client(
        "Northwind Outfitters",
        "Northwind Outfitters Inc.",
        "web@northwind-outfitters.example",
        "+1 206 555 0187",
        "oscar",
        "demo-team",
        "Outdoor gear; campaigns in spring and autumn.",
    ),
    Client(
        "Summit Tutoring",
        "Summit Learning Ltd",
        "hello@summit-tutoring.example",
        "+1 617 555 0110",
        "admin",
        "demo-team",
        "Signed by admin, delivered by demo-team.",
    ),
    Client(
        "Meridian Health Clinic",
        "Meridian Health Partners",
        "it@meridian-health.example",
        "+1 312 555 0199",
        "priya",
        "platform-team",
        "Patient data: everything stays in the clinic's own cloud account.",
    ),
    Client(
        "Copperleaf Logistics",
        "Copperleaf Logistics GmbH",
        "ops@copperleaf.example",
        "+49 30 555 0172",
        "tomas",
        "platform-team",
        "Forty trucks; wants to see them live on a map.",
    ),
    Client(
        "Greenway Energy Co-op",
        None,
        "contact@greenway-energy.example",
        None,
        "admin",
        "platform-team",
        "Met at the spring meetup; may come back for a member portal.",
    ),
    Client(
        "Bluebell Bakery",
        "Bluebell Bakery Ltd",
        "orders@bluebell-bakery.example",
        "+1 503 555 0163",
        "admin",
        None,
        "Closed its web shop last year; kept for the invoices.",
        is_active=False,
    ),
)
CLIENTS = {c.name: c for c in CUSTOMERS}
PROJECTS = (
    Work("shop", "Harbor Coffee Roasters", "Web shop relaunch", "active", 24000, -60, 30),
    Work("loyalty", "Harbor Coffee Roasters", "Loyalty app", "planned", 18000, 14, 120),
    Work("portal", "Alder & Finch", "Client portal", "active", 32000, -45, 60),
    Work("catalogue", "Northwind Outfitters", "Spring catalogue", "completed", 9500, -120, -30),
    Work("booking", "Summit Tutoring", "Booking system", "on_hold", 12000, -30, 90),
    Work("intake", "Meridian Health Clinic", "Patient intake forms", "active", 27500, -40, 45),
    Work("fleet", "Copperleaf Logistics", "Fleet tracking dashboard", "active", 41000, -75, 40),
    Work("newsletter", "Greenway Energy Co-op", "Newsletter signup", "cancelled", 3000, -90, -60),
    Work("website", None, "Agency website refresh", "active", None, -10, 50, is_billable=False),
)
DESCRIPTIONS = {
    "shop": "The shop on the new platform, with subscriptions for beans.",
    "loyalty": "A stamp card in an app, piloted in one café.",
    "portal": "Secure document exchange between the firm and its clients.",
    "catalogue": "The spring collection as a browsable catalogue.",
    "booking": "Students book tutors online. On hold until Summit picks a payment provider.",
    "intake": "New patients fill in their forms before the first visit.",
    "fleet": "Live positions, idle alerts and daily routes of the fleet.",
    "newsletter": "Cancelled: Greenway chose to build it in-house.",
    "website": "Our own site: case studies, team page, a new host.",
}
TASKS = {
    "shop": (
        Todo("Choose a payment provider", "done", 2, "demo", -40, 4, "backend research"),
        Todo("Import the product catalogue", "done", 3, "oscar", -20, 6, "backend"),
        Todo("Fix rounding in VAT totals", "done", 1, "oscar", -10, 2, "bug"),
        Todo("Checkout flow", "in_progress", 1, "demo", 5, 16, "frontend feature"),
        Todo("Coffee subscription plans", "in_progress", 2, "maria", 12, 12, "feature backend"),
        Todo("Shipping rates for Canada", "blocked", 2, "demo", 8, 3, "client-feedback"),
        Todo("Product photo layout", "todo", 3, "oscar", 18, 5, "design"),
        Todo("Launch checklist", "todo", 4, "demo", 28, 2),
    ),
    "loyalty": (
        Todo("Interview baristas about stamp cards", "todo", 3, "demo", 20, 4, "research"),
        Todo("App wireframes", "todo", 3, "oscar", 35, 10, "design"),
        Todo("Pick a push notification service", "todo", 4, None, None, None, "research"),
    ),
    "portal": (
        Todo("Single sign-on with the firm's directory", "in_progress", 1, "maria", 10, 20),
        Todo("Document upload with virus scan", "in_progress", 2, "oscar", 15, 14, "backend"),
        Todo("Retention page compliance review", "blocked", 1, "maria", 3, 2, "urgent"),
        Todo("Password reset emails land in spam", "in_progress", 1, "oscar", -2, 3, "bug urgent"),
        Todo("Portal colour scheme", "done", 4, "demo", -25, 3, "design"),
        Todo("Audit trail export", "todo", 3, "demo", 40, 8, "feature"),
    ),
    "catalogue": (
        Todo("Catalogue page templates", "done", 2, "oscar", -70, 12, "frontend"),
        Todo("Size charts", "done", 3, "demo", -50, 4, "frontend"),
        Todo("Compress the product images", "done", 3, "oscar", -45, 3, "devops"),
        Todo("Go live and redirect the old pages", "done", 1, "maria", -32, 2, "devops"),
    ),
    "booking": (
        Todo("Calendar sync prototype", "done", 3, "oscar", -15, 8, "backend research"),
        Todo("Tutor availability screen", "blocked", 3, "demo", None, 6, "frontend"),
        Todo("Payment provider decision", "todo", 2, "admin", 14, 1, "client-feedback"),
        Todo("Estimate the payment widget", "todo", 3, "carla", 10, 3, "research"),
    ),
    "intake": (
        Todo("Form builder spike", "done", 3, "priya", -30, 6, "research"),
        Todo("Encrypted storage for submissions", "in_progress", 1, "tomas", 7, 16, "backend"),
        Todo("Accessibility review", "in_progress", 2, "priya", 14, 6, "frontend"),
        Todo("Date picker breaks on Safari", "in_progress", 2, "priya", 2, 2, "bug"),
        Todo("Consent checkbox wording", "todo", 3, "priya", 21, 1, "client-feedback"),
        Todo("Load test the submission endpoint", "todo", 3, "carla", 30, 4, "devops"),
    ),
    "fleet": (
        Todo("GPS feed ingestion", "done", 1, "carla", -35, 20, "backend"),
        Todo("Live map view", "in_progress", 1, "priya", 6, 18, "frontend feature"),
        Todo("Duplicate positions after a reconnect", "in_progress", 1, "tomas", -1, 5, "bug"),
        Todo("Price estimate for map tiles", "blocked", 3, "carla", 4, 2, "client-feedback"),
        Todo("Alert when a truck stands idle", "todo", 2, "tomas", 16, 8, "feature"),
        Todo("Driver privacy settings", "todo", 4, None, 35, None, "research"),
    ),
    "newsletter": (Todo("Proposal for the signup form", "done", 3, "admin", -65, 3),),
    "website": (
        Todo("Case studies page", "in_progress", 3, "admin", 12, 6, "design"),
        Todo("Move DNS to the new host", "todo", 2, "admin", 20, 2, "devops"),
        Todo("Team photos", "todo", 5, None, None, None),
    ),
}
# task title: "author: text", oldest first
COMMENTS = {
    "Choose a payment provider": (
        "maria: Harbor already has a Stripe account for the cafés; let's reuse it.",
        "demo: Agreed: Stripe. The sandbox keys are in the vault.",
    ),
    "Import the product catalogue": (
        "demo: Import ran clean: 148 products, 3 of them without photos.",
    ),
    "Fix rounding in VAT totals": ("maria: Totals now match the accounting export.",),
    "Checkout flow": (
        "oscar: The address form still asks EU customers for a state.",
        "demo: Fixed on the branch; on staging tomorrow.",
    ),
    "Coffee subscription plans": (
        "demo: Harbor wants 2, 4 and 6 week intervals.",
        "maria: Plans drafted in Stripe; prices still to confirm with Elena.",
    ),
    "Shipping rates for Canada": (
        "demo: Waiting for Harbor's carrier contract before entering the rates.",
    ),
    "Single sign-on with the firm's directory": (
        "oscar: Their directory is Azure AD; the test tenant works.",
    ),
    "Document upload with virus scan": ("maria: The scanner container runs on staging now.",),
    "Retention page compliance review": (
        "maria: Alder & Finch want seven years of retention, not five; rewording.",
        "demo: I'll change the settings page once the wording is final.",
    ),
    "Password reset emails land in spam": (
        "oscar: Their SPF record misses our mail provider; asked their IT to add it.",
    ),
    "Catalogue page templates": ("demo: Templates approved by Northwind.",),
    "Go live and redirect the old pages": (
        "maria: Live. The old addresses redirect; no 404s after the first day.",
    ),
    "Calendar sync prototype": (
        "demo: Google Calendar works; Outlook needs another sign-in flow.",
    ),
    "Tutor availability screen": (
        "admin: On hold until Summit decides on payments: no more hours here.",
    ),
    "Encrypted storage for submissions": (
        "priya: Keys rotate every 90 days, as Meridian's policy says.",
        "tomas: The rotation job is scheduled; it needs a dry run first.",
    ),
    "Accessibility review": ("tomas: A screen reader pass found four fields without labels.",),
    "Live map view": ("tomas: Clustered markers read much better at city zoom.",),
    "Duplicate positions after a reconnect": (
        "priya: Seen again this morning on truck 17.",
        "tomas: The reconnect handler replays its buffer; a fix is on the way.",
    ),
    "Price estimate for map tiles": ("admin: Copperleaf's finance team wants two quotes first.",),
    "Proposal for the signup form": ("admin: Greenway will build it in-house; project closed.",),
    "Case studies page": ("admin: Two clients still have to sign off before we publish.",),
}
# Time entries are spread over the tasks someone has worked on, by these cycles.
MINUTES = (90, 45, 120, 60, 180, 30, 240, 75)
NOTES = ("Implementation", "Review and fixes", "Call with the client", "Testing", "Planning")
WORKED = ("in_progress", "blocked", "done")
