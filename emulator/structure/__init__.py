"""Page structure beyond lines and words, for Document Intelligence's ``prebuilt-layout``:
tables (:mod:`.tables`), selection marks (:mod:`.marks`) and paragraph roles
(:mod:`.roles`). Each works from what the engine found on a page (lines, words, the rules
drawn on it) and, for selection marks, the page's pixels; none of them reads text again."""
