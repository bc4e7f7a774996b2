"""Texts that read like a fan site's: review bodies, headlines and comments made from
sentence templates filled with each title's characters, crews and routines. Fast (a pool of
sentences per title and sentiment, made once), varied, and the same for the same seed."""

import math
from dataclasses import dataclass

from reviews.models import COMMENT_MAX_LENGTH, REVIEW_BODY_MAX_LENGTH

# Body lengths: log-normal, median a few hundred characters, tail to the 10,000 limit.
BODY_MEDIAN = 330
BODY_SIGMA = 0.85
COMMENT_MEDIAN = 110
COMMENT_SIGMA = 0.9
STYLES = [
    "krump", "popping", "locking", "breaking", "tutting", "waacking", "voguing", "house",
    "contemporary", "ballet", "hip-hop", "street jazz", "tap", "salsa", "b-boying", "robot",
    "flexing", "clowning", "jerkin'", "freestyle", "dancehall", "crumping", "litefeet",
]  # fmt: skip
MOVES = [
    "windmills", "headspins", "freezes", "toprock", "footwork", "isolations", "waves",
    "flares", "airflares", "power moves", "lifts", "body rolls", "six-steps", "kip-ups",
    "knee drops", "slides", "pirouettes", "hits", "glides", "tutting combos", "flips",
    "floor work", "stalls", "backflips", "chair tricks", "wall runs",
]  # fmt: skip
SCENES = [
    "the final battle", "the opening number", "the club battle", "the rain dance",
    "the rooftop routine", "the warehouse battle", "the flash mob", "the audition",
    "the street performance", "the rehearsal montage", "the beach scene", "the museum piece",
    "the last routine", "the first battle", "the training montage", "the duet",
    "the showcase", "the underground battle", "the parking lot scene", "the subway scene",
    "the restaurant flash mob", "the water routine", "the laser number", "the tango",
]  # fmt: skip
ASPECTS = [
    "choreography", "soundtrack", "camera work", "editing", "acting", "script", "plot",
    "dialogue", "pacing", "romance", "lighting", "costumes", "cast", "dancing", "direction",
    "score", "sound mix", "3D", "locations", "ending", "villain", "humour", "friendship story",
]  # fmt: skip
POSITIVE = [
    "incredible", "electric", "jaw-dropping", "tight", "inventive", "joyful", "breathtaking",
    "slick", "fearless", "infectious", "gorgeous", "razor-sharp", "unreal", "iconic",
    "stunning", "clever", "heartfelt", "explosive", "fresh", "flawless", "magnetic",
]  # fmt: skip
NEGATIVE = [
    "flat", "predictable", "clunky", "messy", "cheesy", "forgettable", "tired", "stiff",
    "rushed", "overlong", "clichéd", "lifeless", "choppy", "thin", "awkward", "wooden",
    "repetitive", "dull", "shallow", "generic", "muddled",
]  # fmt: skip
MIDDLING = [
    "uneven", "decent", "fine", "okay", "serviceable", "watchable", "patchy", "solid",
    "hit and miss", "fun enough", "a little uneven", "better than expected",
]  # fmt: skip
COMPANY = [
    "my sister", "my dance crew", "my best friend", "my kids", "my partner", "my flatmates",
    "my students", "the whole family", "my cousins", "my teammates", "nobody, at 2am",
]  # fmt: skip
OCCASIONS = [
    "a rainy Sunday", "a sleepover", "movie night", "a long flight", "my birthday",
    "the night before a competition", "a snow day", "a study break", "New Year's Eve",
]  # fmt: skip
WHEN = [
    "in the cinema on opening night", "on DVD years ago", "on a streaming service last week",
    "at a friend's house", "in 3D and it was worth it", "as a teenager", "on TV by accident",
]  # fmt: skip
POSITIVE_SENTENCES = [
    "{scene} is {pos} and I have rewatched it more times than I can count.",
    "The {aspect} is {pos}, especially during {scene}.",
    "{char} carries every scene with real charm.",
    "Nobody does {style} like {crew}, and the {moves} in {scene} prove it.",
    "{title} is pure fun from start to finish.",
    "The {style} in {routine} gave me chills.",
    "I walked out of the cinema wanting to learn {style}.",
    "Every routine tells a little story, and {routine} is the best of them.",
    "The {moves} alone are worth the ticket.",
    "The way the camera follows the {moves} in {scene} is {pos}.",
    "{char} and {char2} have real chemistry on the dance floor.",
    "It knows exactly what it is and delivers it with a big grin.",
    "The {aspect} surprised me: {pos} in a way I did not expect from a dance film.",
    "I still get goosebumps when the music drops in {scene}.",
    "{crew} deserve a film of their own after this.",
    "Of the whole franchise, {title} is the one I put on when I need cheering up.",
    "The dancers make the hardest {moves} look effortless.",
    "The {aspect} is {pos}, and the {aspect2} is not far behind.",
    "This is the film that made me join a {style} class.",
    "Say what you like about the plot, {scene} is {pos}.",
]
NEGATIVE_SENTENCES = [
    "The {aspect} is {neg} and it drags the whole thing down.",
    "{scene} should have been the highlight, but the editing is {neg}.",
    "I wanted to like {char}, but the writing gives them nothing to do.",
    "Honestly {title} felt {neg} next to the earlier films.",
    "Too much talking between the dances; I skipped ahead more than once.",
    "The {moves} are there, but the camera cuts away every two seconds.",
    "The {aspect} is so {neg} that even {routine} could not save it.",
    "I checked my phone through most of the middle act.",
    "{crew} are wasted on a {neg} story.",
    "The romance is {neg} and the villain is worse.",
    "For a dance film there is surprisingly little {style}.",
    "The {aspect} and the {aspect2} are both {neg}.",
    "I expected more from the people who made the first one.",
    "Even the {moves} felt {neg} this time.",
    "It feels like a long music video with a {neg} script stapled on.",
]
MIDDLING_SENTENCES = [
    "The {aspect} is {mid}, but the dancing makes up for a lot.",
    "Great {style}, {neg} {aspect}.",
    "{scene} is {pos}; the rest is {mid}.",
    "{char} is fun to watch even when the script lets them down.",
    "Not the best of the franchise, not the worst either.",
    "I liked the {moves} more than the story around them.",
    "The second half is much stronger than the first.",
    "{title} is {mid}: come for {routine}, forgive the dialogue.",
    "The {aspect} is {pos} and the {aspect2} is {neg}, which sums it up.",
    "Better on a second watch, when you know to wait for {scene}.",
    "{crew} steal the show whenever they are on screen.",
    "Fun, loud and a little cheesy, which is sort of the point.",
]
NEUTRAL_SENTENCES = [
    "I watched it with {company} on {occasion}.",
    "I first saw {title} {when}.",
    "The {aspect} reminded me a little of {other}.",
    "If you love {style}, you will find something here.",
    "{crew} get more screen time than I expected.",
    "I rewatched it before writing this review.",
    "The {style} and the {style2} styles are mixed in {scene}.",
    "My favourite moment is in {scene}, no contest.",
    "I have watched all the films in order more than once.",
    "{char} is still my favourite character of the franchise.",
    "The soundtrack has been on my playlist for years.",
    "It is worth watching with the sound turned up.",
]
SHORT_BODIES = {
    "positive": ["Loved it!", "Pure joy.", "So good.", "Iconic.", "Rewatch every year.",
                 "The dancing!", "Ten out of ten moves.", "Chills every time."],
    "middling": ["It's fine.", "Good dancing, meh story.", "Watchable.", "Mixed feelings.",
                 "Okay for a Friday night."],
    "negative": ["Not for me.", "Skip it.", "Boring.", "Too cheesy.", "Disappointing."],
}  # fmt: skip
HEADLINES = {
    "positive": [
        "Worth it for {scene}", "{Pos} {aspect}", "{Style} heaven", "Pure joy",
        "The best of the franchise?", "Better on a second watch", "I was on my feet",
        "{Char} steals it", "All the {moves} you could want", "A love letter to {style}",
    ],
    "middling": [
        "Great dancing, {neg} {aspect}", "Come for {scene}", "Fun but {mid}",
        "Not bad, not great", "The dancing carries it", "{Mid}, with one great routine",
    ],
    "negative": [
        "{Neg} and forgettable", "All moves, no story", "Not for me",
        "The {aspect} lets it down", "Skip to {scene}", "Too much talking",
    ],
}  # fmt: skip
COMMENT_SENTENCES = [
    "Completely agree about {scene}.",
    "Fair, but I think the {aspect} works better than people say.",
    "Thanks for this, I am watching it tonight.",
    "The second watch really is better.",
    "The {style} in {scene} is my favourite too.",
    "{char} deserved more screen time.",
    "Did you see the extended version? {scene} is longer there.",
    "I saw it {when} and felt exactly the same.",
    "Hard disagree on the {aspect}, it is {pos}.",
    "You are too kind to the {aspect}, it is {neg}.",
    "This review is why I finally watched it.",
    "{crew} are underrated, glad someone said it.",
    "The {moves} in {routine} still blow my mind.",
    "My {style} teacher showed us {scene} in class.",
]
SHORT_COMMENTS = ["Agreed!", "This.", "So true.", "Ha, same.", "Totally.", "Yes!", "Nope.",
                  "Couldn't agree more.", "Same here.", "100%."]  # fmt: skip
REMOVAL_REASONS = [
    "Abusive language towards another member.",
    "Spam: links to a streaming site.",
    "Unmarked spoilers throughout; the author did not respond to a request to mark them.",
    "Off-topic: about a different film.",
    "Copied from another website.",
    "Personal attack on a cast member.",
]
HOLD_REASONS = ["", "", "Held automatically after 3 reports."]
SENTENCES_PER_POOL = 700


def _sentiment(rating):
    if rating >= 7:
        return "positive"
    if rating <= 4:
        return "negative"
    return "middling"


@dataclass
class _Pool:
    sentences: list
    average_length: float


class TextMaker:
    """Review and comment texts from precomputed sentences: fast, varied, deterministic."""

    def __init__(self, rng, titles, flavour):
        """`flavour` maps a title's pk to its (characters, crews, routines) names."""
        self.rng = rng
        names = [title.name for title in titles]
        self.body_pools = {}
        self.headlines = {}
        self.comment_pools = {}
        for title in titles:
            characters, crews, routines = flavour[title.pk]
            others = [name for name in names if name != title.name] or names
            slots = _Slots(rng, title.name, others, characters, crews, routines)
            neutral = slots.fill_many(NEUTRAL_SENTENCES, SENTENCES_PER_POOL // 3)
            for sentiment, templates in (
                ("positive", POSITIVE_SENTENCES),
                ("middling", MIDDLING_SENTENCES),
                ("negative", NEGATIVE_SENTENCES),
            ):
                sentences = slots.fill_many(templates, SENTENCES_PER_POOL) + neutral
                average = sum(map(len, sentences)) / len(sentences) + 1
                self.body_pools[title.pk, sentiment] = _Pool(sentences, average)
                self.headlines[title.pk, sentiment] = [
                    line[:150] for line in slots.fill_many(HEADLINES[sentiment], 60)
                ]
            sentences = slots.fill_many(COMMENT_SENTENCES, SENTENCES_PER_POOL)
            self.comment_pools[title.pk] = _Pool(
                sentences, sum(map(len, sentences)) / len(sentences) + 1
            )

    def body(self, title_id, rating):
        rng = self.rng
        sentiment = _sentiment(rating)
        length = rng.lognormvariate(math.log(BODY_MEDIAN), BODY_SIGMA)
        if length < 40:
            return rng.choice(SHORT_BODIES[sentiment])
        pool = self.body_pools[title_id, sentiment]
        return _paragraphs(rng, pool, length, REVIEW_BODY_MAX_LENGTH)

    def headline(self, title_id, rating):
        return self.rng.choice(self.headlines[title_id, _sentiment(rating)])

    def comment(self, title_id):
        rng = self.rng
        length = rng.lognormvariate(math.log(COMMENT_MEDIAN), COMMENT_SIGMA)
        if length < 25:
            return rng.choice(SHORT_COMMENTS)
        return _paragraphs(rng, self.comment_pools[title_id], length, COMMENT_MAX_LENGTH)


def _paragraphs(rng, pool, length, limit):
    count = max(1, round(length / pool.average_length))
    sentences = rng.choices(pool.sentences, k=count)
    if count <= 3:
        text = " ".join(sentences)
    else:
        parts = []
        start = 0
        while start < count:
            step = rng.randint(2, 5)
            parts.append(" ".join(sentences[start : start + step]))
            start += step
        text = "\n\n".join(parts)
    if len(text) > limit:
        text = text[: text.rfind(" ", 0, limit)].rstrip() or text[:limit]
    return text


class _Slots:
    """Fills the {placeholders} of the sentence templates with this title's words."""

    def __init__(self, rng, name, others, characters, crews, routines):
        self.rng = rng
        self.name = name
        self.others = others
        self.characters = characters or ["the lead", "the best friend", "the new kid"]
        self.crews = crews or ["the crew", "the home team", "the rival crew"]
        self.routines = routines or ["the finale", "the opening number"]

    def fill(self, template):
        choice = self.rng.choice
        words = {
            "title": self.name,
            "other": choice(self.others),
            "char": choice(self.characters),
            "char2": choice(self.characters),
            "crew": choice(self.crews),
            "routine": choice(self.routines),
            "style": choice(STYLES),
            "style2": choice(STYLES),
            "moves": choice(MOVES),
            "scene": choice(SCENES),
            "aspect": choice(ASPECTS),
            "aspect2": choice(ASPECTS),
            "pos": choice(POSITIVE),
            "neg": choice(NEGATIVE),
            "mid": choice(MIDDLING),
            "company": choice(COMPANY),
            "occasion": choice(OCCASIONS),
            "when": choice(WHEN),
        }
        # Capitalised forms for the start of a headline.
        words.update(
            {key.capitalize(): value[:1].upper() + value[1:] for key, value in words.items()}
        )
        text = template.format(**words)
        return text[:1].upper() + text[1:]

    def fill_many(self, templates, count):
        return [self.fill(self.rng.choice(templates)) for _ in range(count)]
