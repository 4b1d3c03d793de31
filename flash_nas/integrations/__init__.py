"""flash-nas inside the experiment tools people use: NNI (:mod:`.nni`), Optuna (:mod:`.optuna`)
and Ray Tune (:mod:`.ray`). Each front end only speaks its tool's protocol over the one search
engine (:mod:`flash_nas.search.engine`); search-space parameters and their translation to
architectures live in :mod:`.params`, the shared arguments in :mod:`.settings`. Importing this
package imports none of those tools.

Room rule: a front end; imports the search engine, the plugin API, the graph layer,
:mod:`flash_nas.io` and :mod:`flash_nas.errors`, never the command line or training.
"""
