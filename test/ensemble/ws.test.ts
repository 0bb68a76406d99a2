/** Goal and method: see scenarios.ts; here over ws://. */
import t from 'tap'
import { ensembleScenarios } from './scenarios.js'

ensembleScenarios(t, 'ws')
