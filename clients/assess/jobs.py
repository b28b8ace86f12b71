"""The jobs of the simulated-candidate suite: four fields of work, each with its rubric (and the
kind of each criterion, stated here, not read from the scorer) and the words its candidates use.

Every vocabulary comes in two banks: ``tuning`` (what the scorer was developed against) and
``held_out`` (other actions, figures, reasons and companies, never looked at while tuning). A
scorer tuned to the first bank's strings fails on the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["technical", "problem_solving", "communication", "general"]
Bank = Literal["tuning", "held_out"]


@dataclass(frozen=True)
class Metric:
    """A figure a candidate reports: what it measures, its unit, before and after."""

    name: str
    unit: str
    before: str
    after: str


@dataclass(frozen=True)
class Vocabulary:
    """What a candidate for this job talks about, in one bank."""

    contexts: tuple[str, ...]  # "At a payments start-up with 40 engineers"
    actions: tuple[str, ...]  # past-tense work, with {tool}: "moved the billing queue to {tool}"
    metrics: tuple[Metric, ...]
    reasons: tuple[str, ...]  # "because most reads could be served from a replica"
    alternatives: tuple[str, ...]  # what else they considered
    lessons: tuple[str, ...]  # "write the rollback plan before the migration"
    generic: tuple[str, ...]  # relevant, never specific, with {topic}
    keywords: tuple[str, ...]  # for the keyword stuffer


@dataclass(frozen=True)
class JobSpec:
    key: str
    title: str
    description: str
    required_skills: tuple[str, ...]
    # How candidates name each required skill (the first is the recruiter's name).
    skill_names: dict[str, tuple[str, ...]]
    rubric: tuple[tuple[str, str, float, Kind], ...]  # name, description, weight, kind
    custom_question: str
    custom_topic: str
    banks: dict[Bank, Vocabulary]
    # The tools candidates name for skills that are practices, not tools (troubleshooting).
    tools: tuple[str, ...] = ()

    def payload(self, question_count: int = 4, follow_ups: int = 1) -> dict[str, Any]:
        """The body of POST /jobs for this job."""
        return {
            "title": self.title,
            "description": self.description,
            "job_type": "full_time",
            "location": "Remote",
            "remote": True,
            "required_skills": list(self.required_skills),
            "interview_plan": {
                "question_count": question_count,
                "follow_ups_per_question": follow_ups,
                "answer_time_limit_s": 300,
                "total_time_limit_min": 60,
                "custom_questions": [self.custom_question],
                "rubric": [
                    {"name": n, "description": d, "weight": w} for n, d, w, _ in self.rubric
                ],
            },
        }

    def kind_of(self, criterion: str) -> Kind:
        return next(k for n, _, _, k in self.rubric if n == criterion)


BACKEND = JobSpec(
    key="backend",
    title="Backend Engineer",
    description=(
        "You will build and run the APIs behind our product.\n"
        "- Design and operate PostgreSQL schemas for a multi-tenant product\n"
        "- Keep our Python services fast and reliable under load\n"
        "- Own services in production, from deployment to incident review\n"
    ),
    required_skills=("Python", "PostgreSQL", "Kubernetes"),
    skill_names={
        "Python": ("Python", "Python 3", "CPython"),
        "PostgreSQL": ("PostgreSQL", "Postgres", "Postgres 15"),
        "Kubernetes": ("Kubernetes", "k8s", "Kubernetes"),
    },
    rubric=(
        (
            "Technical depth",
            "Knows the tools and trade-offs of the role's required skills.",
            0.4,
            "technical",
        ),
        (
            "Problem solving",
            "Breaks problems down, weighs options and reasons about failure.",
            0.35,
            "problem_solving",
        ),
        ("Communication", "Answers clearly, concretely and to the point.", 0.25, "communication"),
    ),
    custom_question="Tell me about a production incident you handled. What happened?",
    custom_topic="production incident",
    banks={
        "tuning": Vocabulary(
            contexts=(
                "At a payments start-up with 40 engineers",
                "In my last role on the platform team",
                "At my previous company, a logistics marketplace",
                "Two years ago at an e-commerce company",
            ),
            actions=(
                "moved the billing job queue to {tool}",
                "rewrote the order API's request handlers with {tool}",
                "added a partial index and query plan checks in {tool}",
                "split the reporting service out of the monolith and deployed it on {tool}",
                "built the retry and idempotency layer for webhooks in {tool}",
                "tuned the connection pool and the autoscaling of the API on {tool}",
            ),
            metrics=(
                Metric("p95 latency", "ms", "800", "120"),
                Metric("the error rate", "%", "2.5", "0.3"),
                Metric("deploy time", "minutes", "45", "8"),
                Metric("the nightly report", "minutes", "90", "12"),
                Metric("infrastructure cost", "dollars a month", "14,000", "9,500"),
            ),
            reasons=(
                "most of the reads could be served from a replica",
                "the old design held a lock for the whole request",
                "we needed exactly-once effects on retries",
                "the team already knew how to operate it",
                "a rollback had to take less than five minutes",
            ),
            alternatives=(
                "adding more replicas",
                "a bigger instance",
                "a managed queue",
                "rewriting the service in Go",
            ),
            lessons=(
                "write the rollback plan before the migration",
                "load-test with production-sized data",
                "add the dashboards before the change, not after",
            ),
            generic=(
                "I have worked with {topic} in my previous jobs and I am comfortable with it.",
                "In my last team we used {topic} for most of our services, and it went well.",
                "I try to keep the code simple and readable so the team can maintain it.",
                "I think {topic} is important for a backend engineer because it helps the "
                "team deliver.",
                "I usually discuss the approach with my team before I start, and we review "
                "each other's code.",
                "Reliability matters a lot to me, and I always test my changes.",
            ),
            keywords=(
                "python",
                "postgresql",
                "asyncio",
                "kubernetes",
                "redis",
                "kafka",
                "microservices",
                "scalability",
            ),
        ),
        "held_out": Vocabulary(
            contexts=(
                "While I was at a travel booking site serving 3 million users",
                "On the checkout team of a food delivery app",
                "At a fintech that processed card refunds",
                "During my time at a healthcare scheduling company",
            ),
            actions=(
                "replaced the polling workers with an event-driven consumer written with {tool}",
                "sharded the audit log table by tenant in {tool}",
                "introduced canary releases for the search service on {tool}",
                "cached the pricing lookups and invalidated them on write with {tool}",
                "profiled the export endpoint and streamed its rows with {tool}",
                "designed the outbox table and its relay process in {tool}",
            ),
            metrics=(
                Metric("checkout timeouts", "per day", "300", "4"),
                Metric("median response time", "ms", "350", "60"),
                Metric("the on-call pages", "per week", "25", "3"),
                Metric("CPU usage", "%", "85", "40"),
                Metric("recovery time", "minutes", "30", "5"),
            ),
            reasons=(
                "the vacuum could not keep up with the update rate",
                "the downstream partner limited us to 50 requests per second",
                "a full table scan ran on every page view",
                "duplicate charges were worse than slow ones",
                "the old cluster had no headroom for the holiday peak",
            ),
            alternatives=(
                "vertical scaling",
                "a read-through cache",
                "a nightly batch job",
                "a third-party search service",
            ),
            lessons=(
                "put a feature flag on every risky change",
                "measure before optimising anything",
                "agree on the service-level objective first",
            ),
            generic=(
                "{topic} is something I have used quite a bit over the years.",
                "Our team relied on {topic} and I was part of that work.",
                "Good backend work for me means clean interfaces and tests that catch problems.",
                "I like to understand the requirements well before writing code.",
                "Working closely with product and the other engineers is how things get done.",
                "Performance and stability are things I always keep in mind.",
            ),
            keywords=(
                "python3",
                "postgres",
                "k8s",
                "docker",
                "grpc",
                "rest",
                "aws",
                "ci/cd",
                "low-latency",
            ),
        ),
    },
)


DATA = JobSpec(
    key="data",
    title="Data Engineer",
    description=(
        "Own the pipelines and models behind our analytics.\n"
        "- Build reliable batch and streaming pipelines into the warehouse\n"
        "- Model data so analysts can answer questions without us\n"
        "- Monitor data quality and fix broken pipelines quickly\n"
    ),
    required_skills=("SQL", "Airflow", "dbt"),
    skill_names={
        "SQL": ("SQL", "SQL", "window functions in SQL"),
        "Airflow": ("Airflow", "Apache Airflow", "Airflow DAGs"),
        "dbt": ("dbt", "dbt models", "dbt"),
    },
    rubric=(
        (
            "SQL and data modelling",
            "Writes correct SQL and models data for its users.",
            0.35,
            "technical",
        ),
        (
            "Analytical reasoning",
            "Reasons from evidence, weighs options, finds root causes.",
            0.3,
            "problem_solving",
        ),
        (
            "Stakeholder communication",
            "Explains data work clearly to non-engineers.",
            0.2,
            "communication",
        ),
        (
            "Data quality ownership",
            "Takes ownership of freshness, tests and lineage of data.",
            0.15,
            "general",
        ),
    ),
    custom_question="Tell me about a time a dashboard showed wrong numbers. What did you do?",
    custom_topic="wrong numbers on a dashboard",
    banks={
        "tuning": Vocabulary(
            contexts=(
                "At a subscription business with 2 million customers",
                "In my last role on the analytics platform team",
                "At a retail chain's data team",
                "Last year at a mobile games studio",
            ),
            actions=(
                "rebuilt the revenue pipeline as incremental {tool} models",
                "moved the nightly loads into {tool} with retries and alerts",
                "wrote freshness and uniqueness tests for the orders tables in {tool}",
                "modelled the subscription events as a star schema with {tool}",
                "backfilled three years of events with a partitioned job in {tool}",
                "replaced a 900-line query with four tested {tool} models",
            ),
            metrics=(
                Metric("the warehouse bill", "dollars a month", "22,000", "13,000"),
                Metric("pipeline runtime", "minutes", "180", "25"),
                Metric("data incidents", "per month", "12", "2"),
                Metric("dashboard load time", "seconds", "40", "4"),
                Metric("late loads", "%", "15", "1"),
            ),
            reasons=(
                "full refreshes were rescanning years of unchanged data",
                "analysts needed one definition of an active customer",
                "silent failures were only noticed by the finance team",
                "the source system sent duplicate events after outages",
                "the marketing team needed the numbers before 9 am",
            ),
            alternatives=(
                "a bigger warehouse",
                "a streaming rewrite",
                "manual checks",
                "a vendor ETL tool",
            ),
            lessons=(
                "agree on metric definitions before building",
                "add tests with every new model",
                "show stakeholders the lineage of a number",
            ),
            generic=(
                "I have worked with {topic} a lot and I know it well.",
                "In my previous team we used {topic} for our reporting, and it worked fine.",
                "I care about data quality and I try to make sure the numbers are right.",
                "I think {topic} matters for a data engineer because the business depends on "
                "the data.",
                "I usually talk to the analysts to understand what they need.",
                "I like building pipelines and I enjoy working with data.",
            ),
            keywords=("sql", "airflow", "dbt", "spark", "snowflake", "etl", "bigdata", "pipelines"),
        ),
        "held_out": Vocabulary(
            contexts=(
                "While I worked for a ride-hailing company's data platform",
                "On the growth analytics team of a marketplace",
                "At a bank, in the regulatory reporting team",
                "During two years at a media streaming service",
            ),
            actions=(
                "deduplicated the clickstream on event id before it reached {tool}",
                "split one giant DAG into per-source DAGs in {tool}",
                "added lineage and owners to every model in {tool}",
                "rewrote the churn query with window functions in {tool}",
                "partitioned the events table by day and pruned old partitions with {tool}",
                "built a reconciliation job that compared {tool} totals with the ledger",
            ),
            metrics=(
                Metric("mismatched rows", "per day", "4,000", "30"),
                Metric("query cost", "%", "100", "35"),
                Metric("time to answer an ad-hoc question", "days", "3", "1"),
                Metric("failed runs", "per week", "9", "1"),
                Metric("report latency", "hours", "26", "2"),
            ),
            reasons=(
                "the same trip was counted twice after a retry",
                "auditors needed to trace every figure to a source row",
                "a single failing source blocked every other load",
                "the query scanned the full table on every refresh",
                "product managers kept building their own conflicting metrics",
            ),
            alternatives=(
                "buying a data observability tool",
                "more compute",
                "hand-written spreadsheets",
                "a nightly full reload",
            ),
            lessons=(
                "write down who owns each dataset",
                "reconcile against the source of truth early",
                "keep models small enough to test",
            ),
            generic=(
                "{topic} is part of my everyday toolkit.",
                "My team depended on {topic} and I helped with it.",
                "Good data work means people can trust the numbers.",
                "I try to understand the business question before I write any code.",
                "Working with analysts and product people is a big part of the job.",
                "Clean and documented data is something I value.",
            ),
            keywords=("sql", "dbt", "airflow", "bigquery", "pandas", "kafka", "datalake", "ml"),
        ),
    },
)


SUPPORT = JobSpec(
    key="support",
    title="Customer Support Specialist",
    description=(
        "Help our customers get the most out of the product.\n"
        "- Resolve customer tickets by email and chat within our SLA\n"
        "- Troubleshoot billing and login problems with engineering\n"
        "- Write and improve help center articles\n"
    ),
    required_skills=("Zendesk", "troubleshooting", "de-escalation"),
    skill_names={
        "Zendesk": ("Zendesk", "Zendesk", "our Zendesk queue"),
        "troubleshooting": ("troubleshooting", "troubleshooting", "troubleshooting"),
        "de-escalation": ("de-escalation", "escalation", "de-escalation"),
    },
    rubric=(
        (
            "Product troubleshooting",
            "Diagnoses the customer's problem step by step.",
            0.35,
            "problem_solving",
        ),
        (
            "Customer empathy",
            "Acknowledges the customer's frustration and keeps them informed "
            "until the issue is resolved.",
            0.25,
            "general",
        ),
        (
            "Written communication",
            "Writes clear, concise replies and articles.",
            0.2,
            "communication",
        ),
        (
            "Tools and process knowledge",
            "Knows the support tools, macros and SLAs.",
            0.2,
            "technical",
        ),
    ),
    custom_question="Tell me about a customer who was very upset. How did you handle it?",
    custom_topic="upset customer",
    tools=("Zendesk", "Jira", "Intercom", "Statuspage"),
    banks={
        "tuning": Vocabulary(
            contexts=(
                "At a SaaS company with 8,000 business customers",
                "In my last role on the billing support team",
                "At an online bank's chat support",
                "Last year at a travel booking company",
            ),
            actions=(
                "rewrote our refund macros in {tool}",
                "set up triage rules that routed login tickets to the right queue in {tool}",
                "reproduced a double-charge bug and filed it with engineering through {tool}",
                "wrote twelve help center articles for the most common {tool} questions",
                "apologised to the customer, explained the cause, and followed up daily "
                "with {tool}",
                "built a checklist for password reset problems and used it in {tool}",
            ),
            metrics=(
                Metric("first response time", "minutes", "95", "20"),
                Metric("CSAT", "%", "82", "94"),
                Metric("the backlog", "tickets", "400", "60"),
                Metric("repeat contacts", "%", "30", "12"),
                Metric("escalations to engineering", "per week", "25", "8"),
            ),
            reasons=(
                "customers were asking the same question after every invoice",
                "the customer had been charged twice and was frightened",
                "the engineers needed exact steps to reproduce the bug",
                "angry customers calm down once they know the next step",
                "half of the tickets were about one confusing screen",
            ),
            alternatives=(
                "a canned reply",
                "escalating straight away",
                "a refund without investigating",
                "waiting for the weekly bug triage",
            ),
            lessons=(
                "tell the customer when they will hear back",
                "write the article as soon as the third ticket comes in",
                "check the logs before asking the customer for more",
            ),
            generic=(
                "I have used {topic} in my previous jobs and I am comfortable with it.",
                "In my last team we handled a lot of tickets and I helped customers every day.",
                "I always try to be friendly and patient with customers.",
                "I think {topic} is important in support because customers deserve good service.",
                "I work closely with my team and ask for help when I need it.",
                "I like solving problems for people.",
            ),
            keywords=(
                "zendesk",
                "csat",
                "sla",
                "tickets",
                "empathy",
                "macros",
                "nps",
                "customer-first",
            ),
        ),
        "held_out": Vocabulary(
            contexts=(
                "While I worked the night shift for a hosting provider",
                "On the VIP queue of a fashion retailer",
                "At an insurance company's claims helpdesk",
                "During my two years at a telecom's phone support",
            ),
            actions=(
                "created a tag for outage tickets in {tool} so we could answer them in bulk",
                "traced a login loop to an expired browser cookie and documented it in {tool}",
                "called the customer back, walked them through the fix and logged it in {tool}",
                "merged duplicate tickets and closed stale ones in {tool}",
                "drafted a status page template and linked it from {tool}",
                "paired with a developer to reproduce the sync failure and tracked it in {tool}",
            ),
            metrics=(
                Metric("average handle time", "minutes", "14", "9"),
                Metric("tickets per hour", "tickets", "5", "8"),
                Metric("negative reviews", "per month", "40", "11"),
                Metric("SLA breaches", "%", "18", "3"),
                Metric("reopened tickets", "%", "22", "7"),
            ),
            reasons=(
                "the customer had lost access right before a deadline",
                "the same outage produced hundreds of identical questions",
                "nobody had told the customer what was happening for two days",
                "the developer could not see the customer's screen",
                "the policy allowed a goodwill credit for exactly this case",
            ),
            alternatives=(
                "a generic apology",
                "transferring the call",
                "asking the customer to wait",
                "closing the ticket as solved",
            ),
            lessons=(
                "give one clear next step in every reply",
                "keep notes that the next agent can follow",
                "never promise what engineering has not confirmed",
            ),
            generic=(
                "{topic} is something I deal with all the time.",
                "My team used {topic} and I was part of that.",
                "Good support means the customer feels heard.",
                "I try to stay calm and positive.",
                "Teamwork is very important in a support team.",
                "Helping customers is what I enjoy most.",
            ),
            keywords=(
                "freshdesk",
                "intercom",
                "csat",
                "kpi",
                "omnichannel",
                "sla",
                "retention",
                "tickets",
            ),
        ),
    },
)


SALES = JobSpec(
    key="sales",
    title="Account Executive",
    description=(
        "Win and grow mid-market customers.\n"
        "- Run discovery calls and qualify opportunities\n"
        "- Negotiate contracts and close deals against a quarterly quota\n"
        "- Keep the pipeline and forecast accurate in Salesforce\n"
    ),
    required_skills=("Salesforce", "negotiation", "discovery"),
    skill_names={
        "Salesforce": ("Salesforce", "Salesforce", "our Salesforce pipeline"),
        "negotiation": ("negotiation", "negotiation", "negotiation"),
        "discovery": ("discovery", "discovery calls", "discovery"),
    },
    rubric=(
        (
            "Discovery and qualification",
            "Asks questions to understand the buyer's needs, budget and timeline before proposing.",
            0.3,
            "general",
        ),
        (
            "Negotiation judgement",
            "Weighs options, protects value and decides when to walk away.",
            0.3,
            "problem_solving",
        ),
        (
            "Pipeline and tools",
            "Keeps an accurate pipeline and forecast in the CRM.",
            0.2,
            "technical",
        ),
        ("Communication", "Clear, concise and persuasive.", 0.2, "communication"),
    ),
    custom_question="Tell me about a deal you lost. What happened?",
    custom_topic="lost deal",
    tools=("Salesforce", "HubSpot", "Gong", "DocuSign"),
    banks={
        "tuning": Vocabulary(
            contexts=(
                "At a logistics software company selling to mid-market",
                "In my last role as an account executive for HR software",
                "At a cybersecurity vendor in the DACH region",
                "Last year at a marketing analytics start-up",
            ),
            actions=(
                "ran discovery with the operations director and mapped the buying committee "
                "in {tool}",
                "rebuilt my pipeline stages and exit criteria in {tool}",
                "traded a two-year term for a 10% discount in the negotiation, tracked in {tool}",
                "qualified out six opportunities that had no budget and logged why in {tool}",
                "built a mutual close plan with the champion and kept it in {tool}",
                "prepared a business case with the customer's own numbers and shared it "
                "through {tool}",
            ),
            metrics=(
                Metric("my win rate", "%", "18", "31"),
                Metric("the sales cycle", "days", "120", "75"),
                Metric("forecast accuracy", "%", "60", "90"),
                Metric("average deal size", "thousand euros", "28", "45"),
                Metric("quota attainment", "%", "85", "118"),
            ),
            reasons=(
                "the buyer's budget was only released at the start of the quarter",
                "the champion had no authority to sign",
                "a longer contract was worth more to us than the list price",
                "procurement always asks for a discount at the end",
                "deals without a pain they could measure never closed",
            ),
            alternatives=(
                "a bigger discount",
                "pushing for a quick close",
                "a free pilot",
                "going over the champion's head",
            ),
            lessons=(
                "confirm the decision process in the first call",
                "never discount without getting something back",
                "update the forecast the day something changes",
            ),
            generic=(
                "I have used {topic} in my previous jobs and I am comfortable with it.",
                "In my last team we closed a lot of deals and I was part of that success.",
                "I always try to build good relationships with my clients.",
                "I think {topic} is important in sales because clients need to trust you.",
                "I work well with my team and with marketing.",
                "I am very motivated by targets.",
            ),
            keywords=(
                "salesforce",
                "quota",
                "pipeline",
                "closing",
                "meddic",
                "negotiation",
                "b2b",
                "hunter",
            ),
        ),
        "held_out": Vocabulary(
            contexts=(
                "While selling payroll software to restaurant groups",
                "On the enterprise team of a video conferencing company",
                "At a solar energy installer selling to commercial buildings",
                "During three years at a recruiting platform",
            ),
            actions=(
                "asked the finance lead what a delay would cost them and wrote it into {tool}",
                "walked away from a deal that demanded unlimited liability and noted it in {tool}",
                "multi-threaded the account by booking calls with IT and legal from {tool}",
                "cleaned up forty stale opportunities in {tool} before the quarterly review",
                "anchored the negotiation on the three-year total and recorded the terms in {tool}",
                "mapped the renewal dates of every account in {tool} and called each one",
            ),
            metrics=(
                Metric("churned accounts", "per quarter", "9", "2"),
                Metric("pipeline coverage", "x", "2", "4"),
                Metric("discount given", "%", "25", "8"),
                Metric("meetings booked", "per week", "6", "14"),
                Metric("annual contract value", "thousand dollars", "60", "95"),
            ),
            reasons=(
                "legal would have blocked it at the last step anyway",
                "the real decision maker was the CFO, not the IT manager",
                "a discount without a concession teaches buyers to wait",
                "stale deals made the forecast meaningless",
                "the customer's season started in March",
            ),
            alternatives=(
                "matching the competitor's price",
                "a one-year trial contract",
                "escalating to my VP",
                "waiting for next quarter",
            ),
            lessons=(
                "find the economic buyer early",
                "write the next step into every meeting invite",
                "price on value, not on cost",
            ),
            generic=(
                "{topic} is a big part of how I work.",
                "My team used {topic} every day and I did too.",
                "Good selling means listening to the client.",
                "I am a people person and I enjoy building relationships.",
                "I always work hard to reach my goals.",
                "Sales is about trust and persistence.",
            ),
            keywords=(
                "crm",
                "hubspot",
                "prospecting",
                "cold-calling",
                "quota",
                "closer",
                "saas",
                "growth",
            ),
        ),
    },
)

JOBS: tuple[JobSpec, ...] = (BACKEND, DATA, SUPPORT, SALES)
