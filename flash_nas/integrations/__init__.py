"""flash-nas inside the experiment tools people use: NNI (:mod:`.nni`), Optuna (:mod:`.optuna`)
and Ray Tune (:mod:`.ray`). Each front end only speaks its tool's protocol over the one search
engine (:mod:`flash_nas.engine`); search-space parameters and their translation to
architectures live in :mod:`.params`, the shared arguments in :mod:`.settings`. Importing this
package imports none of those tools.
"""
