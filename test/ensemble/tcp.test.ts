/** Goal and method: see scenarios.ts; here over tcp://. */
import t from 'tap'
import { ensembleScenarios } from './scenarios.js'

ensembleScenarios(t, 'tcp')
