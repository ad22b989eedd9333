"""The Spark engine: ``codeetl validate``/``annotate --engine spark`` run the claim SQL every engine shares
(``sql/claims/``) on Apache Spark, over the exported claims contract files, from local[*] to a cluster."""
