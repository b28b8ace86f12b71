"""The scorer's word lists: what counts as a function word, a skill's other names, the words of
a field of work, action and result verbs, and the phrases of a non-answer.

Kept as data, in one place, so that a reviewer can read what the offline scorer knows and a
contributor can extend it (a new skill's aliases, a new field) without touching the algorithm.
Every entry is lower case; multi-word entries are matched as phrases.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Closed-class English words: determiners, pronouns, prepositions, conjunctions, auxiliaries
# and common adverbs. Prose is a third to a half of these; a list of keywords has almost none.
FUNCTION_WORDS = _words(
    """
a about above across after again against all almost also although always am among an and
another any anyone anything are around as at be because been before being below between both
but by can cannot could did do does doing done down during each either else enough even ever
every few for from further had has have having he her here hers herself him himself his how
however i if in into is it its itself just least less many may me might mine more most much
must my myself neither never no nor not now of off often on once one only onto or other others
otherwise our ours ourselves out over own per quite rather same several she should since so
some such than that the their theirs them themselves then there therefore these they this
those though through thus to too toward towards under unless until up upon us very was we were
what whatever when whenever where whereas wherever whether which while who whom whose why will
with within without would yet you your yours yourself yourselves i'm i've i'd i'll we're we've
we'd we'll it's that's there's don't didn't doesn't wasn't weren't isn't aren't can't couldn't
wouldn't shouldn't won't let's they're they've you're you've he's she's
"""
)

# Words every interview question is made of ("tell me about a time..."): they say nothing
# about what this question is about, so they are not its key terms.
QUESTION_WORDS = _words(
    """
tell describe walk explain give share talk say think mention mentioned example examples
concrete specific situation time times recent recently project projects work worked working
job role part step steps detail details exactly moment stay let's lets deeper level along way
today now again differently different would could should want know decide decided right tool
tools hard hardest problem problems ran run find cause fix fixed good look looks like test
keep maintainable result results happened happen handle handled surprised wrong went changed
change changes measure measured observe observed know knew yourself own else involved who what
which how why when where proud contribution success successful prepares draws recent best
number another piece mind kind thing things something someone anything approach first short
sentences two three experience expand angle problem one even small relates question questions
also add detail yet shows much many lot go goes going take took make made help helps interview
use used using uses
"""
)

# A skill and the other names candidates use for it. Keys and aliases are matched as whole
# words or phrases, case-insensitively; a required skill that is not here still matches itself.
SKILL_ALIASES: dict[str, tuple[str, ...]] = {
    "postgresql": ("postgres", "postgre", "psql", "pg"),
    "mysql": ("mariadb",),
    "kubernetes": ("k8s", "kube", "kubectl", "helm"),
    "javascript": ("js", "ecmascript", "node", "node.js", "nodejs"),
    "typescript": ("ts",),
    "python": ("cpython", "python3"),
    "go": ("golang",),
    "c#": ("csharp", ".net", "dotnet"),
    "amazon web services": ("aws", "ec2", "s3", "lambda"),
    "google cloud": ("gcp", "google cloud platform"),
    "microsoft azure": ("azure",),
    "asyncio": ("async", "await", "async/await", "event loop"),
    "rest": ("rest api", "restful", "http api", "rest apis"),
    "grpc": ("protobuf", "protocol buffers"),
    "docker": ("dockerfile", "docker compose"),
    "terraform": ("infrastructure as code", "iac"),
    "ci/cd": ("ci", "cd", "continuous integration", "continuous delivery", "github actions"),
    "redis": ("redis streams",),
    "kafka": ("apache kafka", "kafka streams"),
    "sql": ("joins", "window functions", "common table expressions", "ctes"),
    "dbt": ("data build tool", "dbt models"),
    "airflow": ("apache airflow", "dags", "dag"),
    "spark": ("pyspark", "apache spark"),
    "pandas": ("dataframe", "dataframes"),
    "machine learning": ("ml", "model training"),
    "data modelling": ("data modeling", "dimensional model", "star schema", "schema design"),
    "tableau": ("looker", "power bi", "metabase"),
    "snowflake": ("bigquery", "redshift", "databricks"),
    "zendesk": ("freshdesk", "intercom", "help desk", "helpdesk", "ticketing system"),
    "jira": ("jira service management", "linear"),
    "customer satisfaction": ("csat", "nps", "net promoter score", "satisfaction score"),
    "sla": ("slas", "service level", "first response time", "response time"),
    "troubleshooting": ("troubleshoot", "troubleshot", "debugging", "diagnose", "diagnosed"),
    "de-escalation": ("escalation", "escalations", "escalated", "de-escalate"),
    "salesforce": ("sfdc", "crm", "hubspot", "pipedrive"),
    "negotiation": ("negotiate", "negotiated", "negotiating"),
    "prospecting": ("outbound", "cold outreach", "cold calls", "cold emails", "prospects"),
    "discovery": ("discovery calls", "discovery call", "qualification", "meddic", "bant", "spin"),
    "pipeline management": ("pipeline", "forecast", "forecasting"),
}

# The vocabulary of a few fields of work, as stems' sources (single words). A job belongs to
# every field its own text shares several words with; "workplace" belongs to every job.
FIELD_WORDS: dict[str, frozenset[str]] = {
    "workplace": _words(
        """
team teams teammate teammates colleague colleagues coworker manager managers stakeholder
stakeholders customer customers client clients user users company business product products
deadline deadlines release released launch launched shipped ship roadmap priority priorities
prioritised prioritized meeting meetings process processes feedback review reviewed reviews
goal goals target targets metric metrics plan planned planning scope requirement requirements
colleague mentor mentored onboarding documentation documented document report reported
reporting incident incidents escalated escalation owner ownership responsibility decision
decisions trade-off tradeoff trade-offs tradeoffs option options risk risks estimate estimates
sprint quarter quarterly budget cost costs revenue support service services quality issue
issues bug bugs deliver delivered delivery organisation organization department office
handover handed cross-functional leadership lead led junior senior engineer engineers
engineering analyst analysts designer designers hire hired hiring interviewed interview role
responsible
"""
    ),
    "software": _words(
        """
api apis endpoint endpoints service services microservice microservices backend frontend
server servers database databases query queries index indexes schema migration migrations
latency throughput p95 p99 cache caching cached queue queues worker workers thread threads
async asynchronous concurrency deploy deployed deployment deployments rollout rollback
production staging monitoring alert alerts logging logs tracing metrics observability test
tests testing unit integration load benchmark benchmarked profiled profiling profiler code
codebase refactor refactored refactoring module modules library libraries framework frameworks
bug bugs debug debugged outage outages incident uptime availability scaling scaled scale
replica replicas replication shard sharding partition partitioned transaction transactions
lock locks deadlock memory cpu container containers cluster clusters pipeline ci build builds
release version versions repository git commit commits review pull request requests http
websocket sockets protocol json orm sql python go java rust postgres postgresql redis kafka
docker kubernetes aws cloud infrastructure terraform network timeout timeouts retry retries
idempotent consistency architecture design system systems software developer developers
programming written
"""
    ),
    "data": _words(
        """
data dataset datasets table tables warehouse lake pipeline pipelines etl elt ingestion ingest
batch streaming stream model models modelling modeling schema schemas sql query queries join
joins dashboard dashboards report reports reporting metric metrics kpi kpis analysis analyses
analytics analyst analysts statistic statistics statistical regression experiment experiments
a/b cohort cohorts churn forecast forecasting feature features training accuracy precision
recall validation quality freshness lineage dbt airflow spark pandas python notebook notebooks
snowflake bigquery redshift looker tableau bi partition partitions column columns row rows
aggregate aggregation backfill backfilled dag dags orchestration transformation
transformations source sources stakeholder insight insights sample segment segments
distribution outlier outliers duplicate duplicates deduplication
"""
    ),
    "support": _words(
        """
customer customers ticket tickets queue inbox case cases escalation escalations escalated
refund refunds billing account accounts issue issues bug bugs troubleshoot troubleshooting
troubleshot reproduce reproduced workaround workarounds resolution resolved resolve resolving
response responses reply replied macro macros knowledge base article articles faq csat nps
satisfaction sla slas first-response handle handled handling chat email phone call calls
frustrated frustration angry upset apologised apologized empathy empathise empathize listen
listened calm de-escalate de-escalated tone churn retention onboarding product feature
features zendesk intercom freshdesk jira engineering bug report priority priorities triage
triaged backlog follow-up followed
"""
    ),
    "sales": _words(
        """
sales deal deals pipeline prospect prospects prospecting lead leads outbound inbound quota
quotas revenue arr mrr acv account accounts territory discovery qualification qualified
qualify demo demos proposal proposals pricing price discount discounts negotiation negotiated
negotiate objection objections close closed closing win won loss lost renewal renewals upsell
expansion buyer buyers champion decision-maker procurement contract contracts stakeholder
stakeholders crm salesforce hubspot forecast forecasting cadence sequence outreach meeting
meetings call calls cold conversion conversions funnel opportunity opportunities meddic bant
spin value roi budget legal signed signature cycle quarter quarterly target targets attainment
"""
    ),
}

# Topic words of the behavioural questions and what candidates say instead.
TOPIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "disagreed": (
        "disagree",
        "disagreement",
        "argued",
        "argue",
        "pushed back",
        "pushback",
        "conflict",
        "debate",
        "objected",
        "didn't agree",
        "did not agree",
    ),
    "teammate": ("colleague", "coworker", "peer", "engineer", "manager", "lead"),
    "mistake": (
        "error",
        "wrong",
        "failure",
        "failed",
        "broke",
        "outage",
        "incident",
        "bug",
        "my fault",
        "messed up",
    ),
    "deadline": ("due", "launch date", "cut scope", "timeline", "time pressure", "on time", "late"),
    "feedback": ("criticism", "advice", "review", "told me", "pointed out"),
    "learn": ("learned", "learnt", "picked up", "studied", "ramp up", "ramped up", "new to"),
    "prioritise": ("prioritize", "priority", "priorities", "urgent", "triage", "first"),
    "unclear": ("ambiguous", "vague", "requirements", "clarify", "clarified", "questions"),
    "explain": ("explained", "analogy", "non-technical", "simplified", "diagram"),
    "improved": ("improve", "improvement", "faster", "reduced", "automated", "simplified"),
    "grow": ("growth", "career", "develop", "learn", "goal", "next step"),
    "trade-off": (
        "tradeoff",
        "trade off",
        "downside",
        "instead",
        "rather than",
        "options",
        "chose",
        "choice",
    ),
}

# Verbs of doing something yourself ("I migrated", "we shipped"), as their past forms: with a
# first-person subject they make a claim about the candidate's own work.
ACTION_VERBS = _words(
    """
built build wrote write designed design implemented implement migrated migrate moved rewrote
refactored automated added removed replaced introduced created set configured deployed shipped
launched released led ran owned organised organized coordinated drove fixed debugged diagnosed
traced profiled measured benchmarked tested monitored investigated reproduced found identified
analysed analyzed modelled modeled scheduled backfilled partitioned indexed cached tuned
optimised optimized reduced cut increased improved doubled halved raised lowered saved grew
negotiated closed signed prospected qualified pitched presented proposed convinced persuaded
escalated resolved answered handled refunded apologised apologized called emailed wrote
documented trained mentored onboarded hired interviewed split merged rolled rebuilt
restructured prioritised prioritized triaged cleaned validated deduplicated shortened
simplified standardised standardized replied followed
"""
)

# Verbs of finding out: measuring, tracing, reproducing before deciding.
METHOD_VERBS = _words(
    """
profiled profile measured measure traced trace reproduced reproduce investigated investigate
benchmarked benchmark tested test compared compare bisected bisect logged instrumented
monitored analysed analyzed diagnosed diagnose debugged debug checked verified validated
interviewed asked listened estimated prototyped experimented sampled isolated narrowed
"""
)

# First-person verbs of plain experience ("we used", "I worked on"): a claim, but a vague one.
EXPERIENCE_VERBS = _words(
    """
used worked did handled helped supported managed participated contributed joined been had
dealt wrote spent
"""
)

# First-person verbs that describe a state of mind, not a piece of work.
WEAK_VERBS = _words(
    """
think thought believe believed feel felt guess like liked love loved enjoy enjoyed want wanted
hope hoped know knew am was have had would could should can will might must mean meant try
tried used use worked work did do need needed learned learnt really always usually just
"""
)

# Verbs of a result: with a figure or a comparison they say what changed.
RESULT_WORDS = _words(
    """
reduced cut increased improved doubled halved tripled raised lowered saved grew dropped fell
rose went brought shortened sped speeded decreased eliminated removed prevented avoided
resolved closed won recovered boosted lifted
"""
)
RESULT_PHRASES = (
    "as a result",
    "which meant",
    "resulting in",
    "so that",
    "which cut",
    "which reduced",
    "which saved",
    "in the end",
    "the outcome",
    "the result",
    "led to",
)

# Connectives of reasoning: what else was considered, why, what it cost.
# A decision weighed against something else: the core of problem solving.
REASONING_DECISION = (
    "trade-off",
    "tradeoff",
    "trade off",
    "instead of",
    "rather than",
    "the downside",
    "the risk",
    "root cause",
    "we chose",
    "i chose",
    "chose",
    "decided to",
    "weighed",
    "compared",
    "the alternative",
    "looked at",
    "considered",
    "on the other hand",
    "hypothesis",
    "at the cost of",
    "in exchange",
    "walked away",
    "went with",
)
# A reason given: why something was done.
REASONING_STRONG = ("because", "so that", "therefore", "which meant", "the reason", "since the")
REASONING_WEAK = ("but", "however", "although", "though", "while", "since", "so", "otherwise")

# Ordering words that make a longer answer easy to follow.
STRUCTURE_WORDS = ("first", "second", "then", "next", "finally", "after that", "in the end")

# What a candidate says instead of an answer.
NON_ANSWER_PHRASES = (
    "i don't know",
    "i do not know",
    "don't know",
    "dont know",
    "dunno",
    "idk",
    "no idea",
    "not sure",
    "no clue",
    "i can't say",
    "i cannot say",
    "can't answer",
    "cannot answer",
    "no comment",
    "pass",
    "skip",
    "next question",
    "n/a",
    "nothing to add",
    "nothing",
    "no experience",
    "never done",
    "never did",
    "can't remember",
    "cannot remember",
    "don't remember",
    "sorry",
    "no",
    "yes",
    "maybe",
    "not really",
)

# Numbers spelled out, which with a unit are as specific as digits.
NUMBER_WORDS = _words(
    """
one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty
fifty sixty hundred hundreds thousand thousands million millions billion half dozen dozens
double twice
"""
)
